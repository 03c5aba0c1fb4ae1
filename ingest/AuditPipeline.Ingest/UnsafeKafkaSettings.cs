using AuditPipeline.Kafka;

namespace AuditPipeline.Ingest;

/// <summary>
/// Client settings under which ingest could skip or lose messages, refused at start. Ingest
/// discards a batch read before a revocation and relies on the group resuming every partition from
/// its last commit: true for eager rebalancing, not for incremental (cooperative-sticky, or the
/// KIP-848 consumer protocol), where kept partitions continue past the discarded messages.
/// </summary>
public static class UnsafeKafkaSettings
{
    public static IReadOnlyList<string> Problems(KafkaOptions kafka)
    {
        var problems = new List<string>();
        var client = new Dictionary<string, string>(kafka.Client, StringComparer.OrdinalIgnoreCase);
        if (client.TryGetValue("partition.assignment.strategy", out var strategy) && strategy.Contains("cooperative", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Kafka:Client:partition.assignment.strategy={strategy} rebalances incrementally: a batch discarded on revocation would be skipped on the partitions kept. Use range or roundrobin.");
        }
        if (client.TryGetValue("group.protocol", out var protocol) && protocol.Equals("consumer", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add("Kafka:Client:group.protocol=consumer (KIP-848) rebalances incrementally; ingest needs the classic protocol.");
        }
        foreach (var key in new[] { "enable.auto.commit", "enable.auto.offset.store" })
        {
            if (client.TryGetValue(key, out var value) && !value.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"Kafka:Client:{key}={value} would commit offsets before the append is durable; ingest commits itself.");
            }
        }
        if (client.TryGetValue("auto.offset.reset", out var reset) && reset.ToLowerInvariant() is not ("earliest" or "smallest" or "beginning"))
        {
            problems.Add($"Kafka:Client:auto.offset.reset={reset} would skip every message a new group has not seen; use earliest.");
        }
        return problems;
    }
}
