using AuditPipeline.Projections;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddProjections();
await builder.Build().RunAsync();
