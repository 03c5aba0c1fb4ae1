using AuditPipeline.Kafka;
using AuditPipeline.DevBroker;
using Confluent.Kafka;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>The librdkafka every process runs (the redist package's), and the mock cluster's fault controls.</summary>
public sealed class KafkaLibraryTests
{
    [Fact]
    public void The_test_process_runs_the_packaged_librdkafka_2_16_or_later()
    {
        Assert.True(KafkaNative.IsSupported(Library.Version), $"librdkafka {Library.VersionString} is loaded");
        Assert.Contains("centos8-librdkafka.so", KafkaNative.Load(), StringComparison.Ordinal);
        var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("librdkafka", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]).Distinct().ToList();
        var only = Assert.Single(mapped); // no second copy (e.g. a distribution's librdkafka.so.1)
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes/linux-x64/native/centos8-librdkafka.so"), only);
    }

    [Theory]
    [InlineData(0x020002ff, false)] // Debian 12's 2.0.2
    [InlineData(0x020f00ff, false)]
    [InlineData(0x021000ff, true)]
    [InlineData(0x021101ff, true)]
    [InlineData(0x03000000, true)]
    public void Versions_below_2_16_are_refused(int version, bool supported) =>
        Assert.Equal(supported, KafkaNative.IsSupported(version));

    [Fact]
    public void Moving_partition_leaders_on_a_three_broker_cluster_keeps_produce_and_consume_working()
    {
        using var cluster = new MockKafkaCluster(brokers: 3);
        const string topic = "leader-moves";
        cluster.CreateTopic(topic, partitions: 2, replicationFactor: 3);
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "leader-moves",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        consumer.Subscribe(topic);

        Produce(producer, topic, "before", 20);
        Assert.Equal(Expected("before", 20), ConsumeValues(consumer, 20));

        var before = Leaders(admin, topic);
        var moved = before.ToDictionary(p => p.Key, p => p.Value % 3 + 1); // every partition to another broker
        cluster.SetPartitionLeader(topic, 0, moved[0]);
        // The dev broker's command file takes the same path.
        Assert.Equal($"ok: leader {topic} 1 {moved[1]}", ControlFile.Run(cluster, $"leader {topic} 1 {moved[1]}"));
        Assert.StartsWith("error:", ControlFile.Run(cluster, "leader nowhere"), StringComparison.Ordinal);
        Assert.Equal(moved, Leaders(admin, topic));

        Produce(producer, topic, "after", 20);
        Assert.Equal(Expected("after", 20), ConsumeValues(consumer, 20));
        consumer.Close();
    }

    private static void Produce(IProducer<string, string> producer, string topic, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            producer.Produce(topic, new Message<string, string> { Key = $"key-{i % 5}", Value = $"{prefix}-{i:D2}" });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private static List<string> ConsumeValues(IConsumer<string, string> consumer, int count)
    {
        var values = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (values.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { Message: { } message } result)
            {
                values.Add(message.Value);
                consumer.Commit(result);
            }
        }
        values.Sort(StringComparer.Ordinal);
        return values;
    }

    private static List<string> Expected(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D2}")];

    private static Dictionary<int, int> Leaders(IAdminClient admin, string topic) =>
        admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.ToDictionary(p => p.PartitionId, p => p.Leader);
}
