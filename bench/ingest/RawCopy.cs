using System.Diagnostics;
using AuditPipeline.Contracts;
using AuditPipeline.Testing;
using NpgsqlTypes;

namespace AuditPipeline.Bench.Ingest;

/// <summary>
/// The bound: binary COPY of the same rows (hashes precomputed, nothing else) into a table
/// with the event table's columns and indexes, 5,000 rows per transaction, one connection.
/// </summary>
internal static class RawCopy
{
    public static async Task<double> MeasureAsync(TestStore store, Workload workload, string table)
    {
        await store.ExecAsAdminAsync($"CREATE TABLE public.{table} (LIKE audit.events INCLUDING ALL)");
        var hash = new byte[32];
        var recordedAt = Timestamps.ToUtcMicroseconds(DateTimeOffset.UtcNow);

        await using var ds = store.AdminDataSource();
        await using var conn = await ds.OpenConnectionAsync();
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < workload.Events.Count; start += 5000)
        {
            await using var tx = await conn.BeginTransactionAsync();
            await using (var importer = await conn.BeginBinaryImportAsync(
                $"COPY public.{table} (global_seq, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash) FROM STDIN (FORMAT BINARY)"))
            {
                for (var i = start; i < Math.Min(start + 5000, workload.Events.Count); i++)
                {
                    var e = workload.Events[i];
                    await importer.StartRowAsync();
                    await importer.WriteAsync((long)i + 1, NpgsqlDbType.Bigint);
                    await importer.WriteAsync(e.Agent.Id, NpgsqlDbType.Text);
                    await importer.WriteAsync((long)i + 1, NpgsqlDbType.Bigint);
                    await importer.WriteAsync(e.EventId, NpgsqlDbType.Uuid);
                    await importer.WriteAsync(AgentActionOccurred.TypeName, NpgsqlDbType.Text);
                    await importer.WriteAsync(e.OccurredAt, NpgsqlDbType.TimestampTz);
                    await importer.WriteAsync(recordedAt, NpgsqlDbType.TimestampTz);
                    await importer.WriteAsync(workload.Canonical[i], NpgsqlDbType.Json);
                    await importer.WriteAsync(hash, NpgsqlDbType.Bytea);
                    await importer.WriteAsync(hash, NpgsqlDbType.Bytea);
                }
                await importer.CompleteAsync();
            }
            await tx.CommitAsync();
        }
        return workload.Events.Count / clock.Elapsed.TotalSeconds;
    }
}
