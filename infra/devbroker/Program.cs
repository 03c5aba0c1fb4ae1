using System.Globalization;
using AuditPipeline.Kafka;
using AuditPipeline.DevBroker;

// Dev Kafka broker: librdkafka's mock cluster with the pipeline's topics, bootstrap address
// written to a file the other processes read. Runs until SIGTERM/SIGINT.
// Usage: AuditPipeline.DevBroker --bootstrap-file <path> [--partitions N] [--brokers N] [--control-file <path>]
//
// --control-file: the broker empties the file at start, then runs each line appended to it
// (for fault tests by hand or from a script; broker ids are 1..N, -1 means none/all):
//   leader <topic> <partition> <broker>   move the partition's leadership
//   down <broker>                         drop the broker's connections and refuse new ones
//   up <broker>                           accept connections again
// e.g. `echo 'leader agent-actions 3 2' >> .local/kafka/control`. Each line is answered on
// stdout: "dev broker: ok: <line>" or "dev broker: error: <line>: <reason>".
KafkaNative.LoadOrExit("dev broker");
var bootstrapFile = Arg("--bootstrap-file") ?? throw new ArgumentException("--bootstrap-file <path> is required");
var partitions = int.Parse(Arg("--partitions") ?? "16", CultureInfo.InvariantCulture);
var brokers = int.Parse(Arg("--brokers") ?? "1", CultureInfo.InvariantCulture);
var controlFile = Arg("--control-file");

using var cluster = new MockKafkaCluster(brokers);
// Replicated on every broker (up to 3) so leadership can move to any of them.
var replicas = Math.Min(brokers, 3);
foreach (var topic in new[] { Topics.AgentActions, Topics.AgentActionsDeadLetter, Topics.AgentAlerts })
{
    cluster.CreateTopic(topic, partitions, replicas);
}
// Checkpoints are few and must stay in order: one partition.
cluster.CreateTopic(Topics.Checkpoints, 1, replicas);

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
    if (controlFile is null)
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    else
    {
        Console.WriteLine($"dev broker: reading commands from {controlFile}");
        await ControlFile.FollowAsync(controlFile, line => Console.WriteLine($"dev broker: {ControlFile.Run(cluster, line)}"), stop.Token);
    }
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
