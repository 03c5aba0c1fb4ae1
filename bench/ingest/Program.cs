using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Bench.Ingest;
using AuditPipeline.Kafka;
using AuditPipeline.DevBroker;
using AuditPipeline.Testing;

// bench/ingest: in one run, on the same PostgreSQL,
//   (a) the bound: raw binary COPY of equivalent rows (same columns, same indexes, 5,000 per transaction);
//   (b) end to end: events produced to Kafka until all are durably appended and offsets committed.
// Prints as its last line: ingest events_per_s=<b> raw_copy_per_s=<a> ratio=<b/a>
KafkaNative.LoadOrExit("bench/ingest");
var events = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 200_000;
Console.WriteLine($"bench/ingest: {events} events, {Environment.ProcessorCount} cores");

// --decode-only: the decoder alone (schema, parse, validate, canonicalize), no servers; best of three after a warm-up.
if (args.Contains("--decode-only"))
{
    var decodeWorkload = Workload.Build(events, seed: 2026);
    Stages.DecodeRate(Workload.Build(Math.Max(1000, events / 10), seed: 7));
    var rates = Enumerable.Range(0, 3).Select(_ => Stages.DecodeRate(decodeWorkload)).ToList();
    Console.WriteLine($"decode alone: {rates.Max():0} events/s (best of {string.Join(", ", rates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))}; one thread, {decodeWorkload.AverageBytes:0} bytes on average)");
    return;
}

await using var postgres = await PostgresServer.StartAsync();
var store = await postgres.CreateStoreAsync();
var workload = Workload.Build(events, seed: 2026);
var warmup = Workload.Build(Math.Max(1000, events / 10), seed: 7);
using var kafka = new MockKafkaCluster();
// The mock broker keeps only ~5 MB per partition (older messages are dropped): ~2,000 lz4
// events per partition stay far below that, even where agents hash unevenly.
var partitions = Math.Max(16, (int)Math.Ceiling(events * 1.1 / 2000.0));
kafka.CreateTopic("agent-actions", partitions);
kafka.CreateTopic("agent-actions.dlq", 4);

Console.WriteLine($"workload: {workload.Events.Count} events, {workload.AverageBytes:0} bytes on average, {workload.Agents} agents, {partitions} partitions");

if (args.Contains("--stages"))
{
    Console.WriteLine($"decode+validate+canonicalize alone: {Stages.DecodeRate(workload):0} events/s (one thread)");
    Console.WriteLine($"redaction alone (encrypt action.input and outcome.message, re-serialize): {Stages.RedactRate(workload):0} events/s (one thread)");
    var stageStore = await postgres.CreateStoreAsync();
    Console.WriteLine($"store append alone (5,000 per transaction): {await Stages.AppendRateAsync(stageStore, workload):0} events/s");
}

var rawBefore = await RawCopy.MeasureAsync(store, workload, "raw_copy_a");
Console.WriteLine($"(a) raw COPY: {rawBefore:0} rows/s");
var endToEnd = await EndToEnd.MeasureAsync(store, kafka, warmup, workload);
Console.WriteLine($"(b) end to end: {endToEnd.EventsPerSecond:0} events/s ({endToEnd.Elapsed.TotalSeconds:0.0}s)");
var rawAfter = await RawCopy.MeasureAsync(store, workload, "raw_copy_b");
Console.WriteLine($"(a) raw COPY again: {rawAfter:0} rows/s");

if (args.Contains("--stages"))
{
    Console.WriteLine($"kafka consume alone (plain consumer, same topic): {KafkaStages.ConsumeRate(kafka.BootstrapServers, "agent-actions", events):0} events/s");
    Console.WriteLine($"kafka consume + decode (one thread): {KafkaStages.ConsumeRate(kafka.BootstrapServers, "agent-actions", events, decode: true):0} events/s");
}

var bound = (rawBefore + rawAfter) / 2;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ingest events_per_s={endToEnd.EventsPerSecond:0} raw_copy_per_s={bound:0} ratio={endToEnd.EventsPerSecond / bound:0.00}"));
