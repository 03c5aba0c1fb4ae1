using System.Diagnostics;
using System.Globalization;

namespace AuditPipeline.Bench.Query;

/// <summary>Closed-loop load: each client sends its next request when the previous one answers.</summary>
internal sealed record Load(List<double> LatenciesMs, long Requests, long Failures, TimeSpan Elapsed)
{
    public static async Task<Load> RunAsync(HttpClient client, Func<string> path, int clients, TimeSpan duration)
    {
        var latencies = new List<double>[clients];
        long failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            latencies[c] = [];
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(path());
                await response.Content.ReadAsByteArrayAsync();
                latencies[c].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        var all = latencies.SelectMany(l => l).Order().ToList();
        return new Load(all, all.Count, failures, clock.Elapsed);
    }

    public double Percentile(double p) => LatenciesMs.Count == 0 ? double.NaN : LatenciesMs[(int)Math.Min(LatenciesMs.Count - 1, Math.Ceiling(p / 100 * LatenciesMs.Count) - 1)];

    public string Describe(string name) => string.Create(CultureInfo.InvariantCulture,
        $"{name}: {Requests} requests ({Failures} failed) in {Elapsed.TotalSeconds:0.0}s, {Requests / Elapsed.TotalSeconds:0}/s, p50 {Percentile(50):0.0} ms, p99 {Percentile(99):0.0} ms");
}
