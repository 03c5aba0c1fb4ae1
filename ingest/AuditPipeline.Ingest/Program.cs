using AuditPipeline.Kafka;
using AuditPipeline.Ingest;

KafkaNative.LoadOrExit("ingest");

var builder = Host.CreateApplicationBuilder(args);
builder.AddIngest();
await builder.Build().RunAsync();
