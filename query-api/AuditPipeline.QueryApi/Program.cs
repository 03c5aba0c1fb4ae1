using AuditPipeline.Kafka;
using AuditPipeline.QueryApi;

// Checkpoints go to Kafka when configured.
KafkaNative.LoadOrExit("query-api");

var builder = WebApplication.CreateBuilder(args);
builder.AddQueryApi();
var app = builder.Build();
app.UseQueryApi();
await app.RunAsync();
