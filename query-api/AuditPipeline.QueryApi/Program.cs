using AuditPipeline.QueryApi;

var builder = WebApplication.CreateBuilder(args);
builder.AddQueryApi();
var app = builder.Build();
app.UseQueryApi();
await app.RunAsync();
