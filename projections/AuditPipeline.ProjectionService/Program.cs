using AuditPipeline.Kafka;
using AuditPipeline.ProjectionService;
using Microsoft.Extensions.Hosting;

KafkaNative.LoadOrExit("projections");

var builder = Host.CreateApplicationBuilder(args);
builder.AddProjections();
await builder.Build().RunAsync();
