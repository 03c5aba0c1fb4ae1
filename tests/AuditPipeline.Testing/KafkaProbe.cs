using Confluent.Kafka;

namespace AuditPipeline.Testing;

/// <summary>Reads a consumer group's progress from the broker, the way an operator would.</summary>
public static class KafkaProbe
{
    /// <summary>Messages in the topic not yet covered by the group's committed offsets.</summary>
    public static long CommittedLag(string bootstrapServers, string topic, string group)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
        }).Build();
        long lag = 0;
        foreach (var committed in consumer.Committed(partitions, TimeSpan.FromSeconds(10)))
        {
            var high = consumer.QueryWatermarkOffsets(committed.TopicPartition, TimeSpan.FromSeconds(10)).High.Value;
            lag += high - Math.Max(0, committed.Offset.Value);
        }
        return lag;
    }

    /// <summary>
    /// The first <paramref name="count"/> messages of a topic, read by a new group from the start
    /// (fewer if the topic holds fewer within <paramref name="timeout"/>).
    /// </summary>
    public static List<Message<byte[], byte[]>> ReadFromStart(string bootstrapServers, string topic, int count, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"probe-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var found = new List<Message<byte[], byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (found.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { Message: { } message })
            {
                found.Add(message);
            }
        }
        consumer.Close();
        return found;
    }
}
