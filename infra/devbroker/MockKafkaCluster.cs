using System.Runtime.InteropServices;
using System.Text;
using AuditPipeline.Kafka;

namespace AuditPipeline.DevBroker;

/// <summary>
/// librdkafka's built-in mock cluster: a real Kafka-protocol broker on loopback TCP, in memory.
/// Dev/test only (no Kafka distribution is installable here; production uses real Kafka).
/// The same librdkafka as the clients (<see cref="KafkaNative"/>: the redist package's 2.16).
/// Limits: random ports, in-memory, each partition keeps at most ~100,000 messages or ~5 MB
/// (older ones are dropped), so size partitions for the load. Brokers are numbered 1..N.
/// Create topics here: AdminClient.CreateTopics times out against the mock.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const string Lib = KafkaNative.LibraryName;
    private IntPtr _rk;
    private IntPtr _cluster;

    public string BootstrapServers { get; }

    public int Brokers { get; }

    public MockKafkaCluster(int brokers = 1)
    {
        // Our imports below resolve to the very library Confluent.Kafka uses.
        KafkaNative.Load(typeof(MockKafkaCluster).Assembly);
        Brokers = brokers;
        var errstr = new byte[512];
        var conf = rd_kafka_conf_new();
        // The handle only hosts the cluster; keep it quiet.
        Set(conf, "log_level", "3", errstr);
        _rk = rd_kafka_new(0 /* producer */, conf, errstr, errstr.Length);
        if (_rk == IntPtr.Zero)
        {
            throw new InvalidOperationException("rd_kafka_new failed: " + Text(errstr));
        }
        _cluster = rd_kafka_mock_cluster_new(_rk, brokers);
        if (_cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(_rk);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed (is librdkafka built with the mock cluster?)");
        }
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap address.");
    }

    /// <summary>Replicas beyond the broker count are not possible; leaders are spread over the brokers.</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1) =>
        Check(rd_kafka_mock_topic_create(_cluster, topic, partitions, replicationFactor),
            $"Creating topic '{topic}' with {partitions} partitions and {replicationFactor} replica(s)");

    /// <summary>
    /// Moves a partition's leadership (a broker id 1..N, or -1 for none). Clients find out as with
    /// real Kafka: the old leader answers NOT_LEADER and they refresh their metadata.
    /// </summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(rd_kafka_mock_partition_set_leader(_cluster, topic, partition, brokerId),
            $"Moving the leader of {topic}/{partition} to broker {brokerId}");

    /// <summary>Drops the broker's connections and refuses new ones (-1: all). Leadership stays where it is.</summary>
    public void BrokerDown(int brokerId) =>
        Check(rd_kafka_mock_broker_set_down(_cluster, brokerId), $"Taking broker {brokerId} down");

    /// <summary>Accepts connections again (-1: all).</summary>
    public void BrokerUp(int brokerId) =>
        Check(rd_kafka_mock_broker_set_up(_cluster, brokerId), $"Bringing broker {brokerId} up");

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero)
        {
            rd_kafka_mock_cluster_destroy(_cluster);
            _cluster = IntPtr.Zero;
        }
        if (_rk != IntPtr.Zero)
        {
            rd_kafka_destroy(_rk);
            _rk = IntPtr.Zero;
        }
    }

    private static void Check(int err, string what)
    {
        if (err != 0)
        {
            throw new InvalidOperationException($"{what} failed: {Marshal.PtrToStringUTF8(rd_kafka_err2str(err))}");
        }
    }

    private static void Set(IntPtr conf, string name, string value, byte[] errstr)
    {
        if (rd_kafka_conf_set(conf, name, value, errstr, errstr.Length) != 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {Text(errstr)}");
        }
    }

    private static string Text(byte[] errstr)
    {
        var end = Array.IndexOf(errstr, (byte)0);
        return Encoding.UTF8.GetString(errstr, 0, end < 0 ? errstr.Length : end);
    }

    [LibraryImport(Lib)] private static partial IntPtr rd_kafka_conf_new();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr, nint errstrSize);
    [LibraryImport(Lib)] private static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, nint errstrSize);
    [LibraryImport(Lib)] private static partial void rd_kafka_destroy(IntPtr rk);
    [LibraryImport(Lib)] private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokers);
    [LibraryImport(Lib)] private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_partition_set_leader(IntPtr cluster, string topic, int partition, int brokerId);
    [LibraryImport(Lib)] private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);
    [LibraryImport(Lib)] private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);
    [LibraryImport(Lib)] private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);
    [LibraryImport(Lib)] private static partial IntPtr rd_kafka_err2str(int err);
}
