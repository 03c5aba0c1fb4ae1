using AuditPipeline.Kafka;
using AuditPipeline.DetectorService;
using Microsoft.Extensions.Hosting;

KafkaNative.LoadOrExit("detectors");

var builder = Host.CreateApplicationBuilder(args);
builder.AddDetectorService();
await builder.Build().RunAsync();
