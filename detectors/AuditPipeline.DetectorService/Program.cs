using AuditPipeline.DetectorService;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddDetectorService();
await builder.Build().RunAsync();
