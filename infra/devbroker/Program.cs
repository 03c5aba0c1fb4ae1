using AuditPipeline.DevBroker;

// Dev Kafka broker: librdkafka's mock cluster with the pipeline's topics, bootstrap address
// written to a file the other processes read. Runs until SIGTERM/SIGINT.
// Usage: AuditPipeline.DevBroker --bootstrap-file <path> [--partitions N] [--brokers N]
var bootstrapFile = Arg("--bootstrap-file") ?? throw new ArgumentException("--bootstrap-file <path> is required");
var partitions = int.Parse(Arg("--partitions") ?? "16", System.Globalization.CultureInfo.InvariantCulture);
var brokers = int.Parse(Arg("--brokers") ?? "1", System.Globalization.CultureInfo.InvariantCulture);

using var cluster = new MockKafkaCluster(brokers);
foreach (var topic in new[] { "agent-actions", "agent-actions.dlq", "agent-alerts" })
{
    cluster.CreateTopic(topic, partitions);
}
// Checkpoints are few and must stay in order: one partition.
cluster.CreateTopic("audit-checkpoints", 1);

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(bootstrapFile))!);
var temp = bootstrapFile + ".tmp";
File.WriteAllText(temp, cluster.BootstrapServers);
File.Move(temp, bootstrapFile, overwrite: true); // readers never see a half-written address
Console.WriteLine($"dev broker: {cluster.BootstrapServers} ({brokers} broker(s), topics agent-actions, agent-actions.dlq, agent-alerts with {partitions} partitions, audit-checkpoints with 1)");

using var stop = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}
File.Delete(bootstrapFile);
Console.WriteLine("dev broker: stopped");

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
