using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Microsoft.Extensions.Logging.Abstractions;

// bench/integrity: loads N events (default 1,000,000) into its own store, then in one run
//   (b) checkpoints them (the tree projection from zero, then a signed checkpoint), exports them
//       as one evidence bundle and verifies the bundle offline (BundleVerifier, as verify-bundle);
//   (a) hashes the same canonical bytes (each event's stored payload, read back from the bundle)
//       with SHA-256 once each: the bound verification cannot beat.
// Last line: integrity verify_events_per_s=<n> sha256_bound_per_s=<n> ratio=<b/a> export_events_per_s=<n>
var events = Arg("--events", 1_000_000);
// --keep <folder>: keep the bundle there (to profile the verifier on it with --verify-only <folder>).
var keep = Text("--keep");
if (Text("--verify-only") is { } existing)
{
    // A bundle kept by an earlier run: its key was not kept, and the signatures cost the same with either.
    var (rate, bound) = await VerifyAndBound(existing, TrustedKeys.SelfSigned());
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"integrity verify_events_per_s={rate:0} sha256_bound_per_s={bound:0} ratio={rate / bound:0.00}"));
    return;
}
Console.WriteLine($"bench/integrity: {events:N0} events, {Environment.ProcessorCount} cores");
await using var postgres = await PostgresServer.StartAsync();
var store = await postgres.CreateStoreAsync();
await using var ds = store.SeedDataSource();
var fleet = new SampleFleet(500, seed: 2026);
var eventStore = new PostgresEventStore(ds, TimeProvider.System);
var from = DateTimeOffset.UtcNow.AddMinutes(-1);
var clock = Stopwatch.StartNew();
for (var done = 0; done < events; done += 5_000)
{
    await eventStore.AppendAsync(Enumerable.Range(done, Math.Min(5_000, events - done))
        .Select(i => TestEvents.Incoming(fleet.Next(fleet.Agents[i % fleet.Agents.Count], DateTimeOffset.UtcNow), i)).ToList(), [], default);
}
Console.WriteLine($"loaded the store in {clock.Elapsed.TotalSeconds:0}s");

using var signer = CheckpointSigner.Generate();
var checkpoints = new CheckpointService(ds, signer, []);
clock.Restart();
await new StoreSubscription(ds, MerkleTreeProjection.SubscriptionName, new MerkleTreeProjection(ds, NullLogger.Instance).HandleAsync,
    new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default);
var checkpoint = await checkpoints.CreateAsync(null, "bench", default);
var checkpointSeconds = clock.Elapsed.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checkpoint: tree projected from zero and signed at {checkpoint.Size} in {checkpointSeconds:0.0}s ({events / checkpointSeconds:0}/s)"));

var work = Directory.CreateTempSubdirectory("ap-bench-integrity-").FullName;
try
{
    var bundle = Path.Combine(work, "bundle");
    clock.Restart();
    var exported = await new BundleExporter(ds, checkpoints, signer).ExportAsync(
        new ExportRequest(from, DateTimeOffset.UtcNow.AddMinutes(1), [], [], "bench"), bundle, null, default);
    var exportSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"export: {exported.Events} events, {exported.Bytes / 1e6:0} MB in {exportSeconds:0.0}s"));

    var (verifyRate, boundRate) = await VerifyAndBound(bundle, TrustedKeys.Pinned([signer.PublicKeyPem]));
    var withCheckpoint = 1 / (checkpointSeconds / events + 1 / verifyRate);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"checkpoint_plus_verify_events_per_s={withCheckpoint:0} ratio_with_checkpoint={withCheckpoint / boundRate:0.00} checkpoint_events_per_s={events / checkpointSeconds:0}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"integrity verify_events_per_s={verifyRate:0} sha256_bound_per_s={boundRate:0} ratio={verifyRate / boundRate:0.00} export_events_per_s={exported.Events / exportSeconds:0}"));
}
finally
{
    if (keep is not null)
    {
        Directory.Move(Path.Combine(work, "bundle"), keep);
    }
    Directory.Delete(work, recursive: true);
}

// (b) then (a) on the same bundle, the page cache warmed for both alike.
static async Task<(double VerifyRate, double BoundRate)> VerifyAndBound(string bundle, TrustedKeys trusted)
{
    var eventsFile = Path.Combine(bundle, BundleFormat.Events);
    foreach (var file in Directory.GetFiles(bundle))
    {
        using var warm = File.OpenRead(file);
        warm.CopyTo(Stream.Null);
    }
    var clock = Stopwatch.StartNew();
    var report = await BundleVerifier.VerifyAsync(bundle, trusted);
    var verifySeconds = clock.Elapsed.TotalSeconds;
    if (!report.Ok)
    {
        throw new InvalidOperationException("the bundle did not verify: " + string.Join("; ", report.Problems));
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verify: {report.Events} events in {verifySeconds:0.00}s (manifest and every file, chains, batched inclusion proof, signatures)"));

    // The bound is one core hashing with a reused context (faster than the one-shot API, so the
    // ratio is not flattered by a slow baseline); the verifier may use both cores.
    var payloads = Payloads(eventsFile);
    using var context = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    Span<byte> digest = stackalloc byte[32];
    clock.Restart();
    var sink = 0;
    foreach (var payload in payloads)
    {
        context.AppendData(payload);
        context.GetHashAndReset(digest);
        sink ^= digest[0];
    }
    var boundSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"bound: SHA-256 of the {payloads.Count} canonical payloads ({payloads.Sum(p => (long)p.Length) / 1e6:0} MB) in {boundSeconds:0.00}s (checksum {sink})"));
    return (report.Events / verifySeconds, payloads.Count / boundSeconds);
}

static string? Text(string name)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static List<byte[]> Payloads(string eventsFile)
{
    var payloads = new List<byte[]>();
    var marker = "\"event\":"u8.ToArray();
    foreach (var line in File.ReadLines(eventsFile))
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(line);
        var at = bytes.AsSpan().IndexOf(marker) + marker.Length;
        payloads.Add(bytes[at..^1]);
    }
    return payloads;
}

static int Arg(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
