using System.Globalization;
using AuditPipeline.DevBroker;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests.Infrastructure;

/// <summary>
/// Real servers for the integration tests: PostgreSQL 15, ClickHouse and a Kafka-protocol broker (librdkafka's mock
/// cluster) on loopback. Each test takes its own database and topics so tests never share state.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    private int _topics;

    public PostgresServer Postgres { get; private set; } = null!;
    public MockKafkaCluster Kafka { get; private set; } = null!;
    public ClickHouseServer ClickHouse { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        ClickHouse = await ClickHouseServer.StartAsync();
        Kafka = new MockKafkaCluster(brokers: 1);
    }

    public async Task DisposeAsync()
    {
        Kafka.Dispose();
        await ClickHouse.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    /// <summary>A fresh agent-actions topic and its dead-letter topic. 16 partitions keep each under the mock's 5 MB limit.</summary>
    public (string Topic, string DeadLetter) NewTopics(int partitions = 16)
    {
        var n = Interlocked.Increment(ref _topics).ToString(CultureInfo.InvariantCulture);
        var topic = $"agent-actions-{n}";
        Kafka.CreateTopic(topic, partitions);
        Kafka.CreateTopic(topic + ".dlq", 2);
        return (topic, topic + ".dlq");
    }

    public ChildProcess StartIngest(TestStore store, string topic, string group = "audit-ingest", int batchSize = 2000, IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ingest),
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
            ["Ingest__Topic"] = topic,
            ["Ingest__DeadLetterTopic"] = topic + ".dlq",
            ["Ingest__GroupId"] = group,
            ["Ingest__BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
            ["Ingest__SessionTimeoutMs"] = "6000",
            ["Ingest__MaxRetryDelayMs"] = "1000",
            ["Logging__LogLevel__Default"] = "Information",
        };
        foreach (var (key, value) in extraEnv ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }
        return ChildProcess.StartDotnet(RepoPaths.IngestDll, env);
    }

    public Task<(int ExitCode, string Output)> AuditctlAsync(TestStore store, params string[] args) =>
        AuditctlAsync(store, new Dictionary<string, string>(), args);

    public Task<(int ExitCode, string Output)> AuditctlAsync(TestStore store, IReadOnlyDictionary<string, string> extraEnv, params string[] args) =>
        ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, AuditctlEnv(store, extraEnv), args);

    /// <summary>auditctl with its stdout apart from everything it printed (stdout and stderr together).</summary>
    public Task<(int ExitCode, string StdOut, string Output)> AuditctlStdOutAsync(TestStore store, params string[] args) =>
        ChildProcess.RunDotnetWithStdOutAsync(RepoPaths.AuditctlDll, AuditctlEnv(store, new Dictionary<string, string>()), args);

    private Dictionary<string, string> AuditctlEnv(TestStore store, IReadOnlyDictionary<string, string> extraEnv)
    {
        var env = new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ops),
            ["Store__AdminConnectionString"] = store.AdminConnectionString,
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
        };
        foreach (var (key, value) in extraEnv)
        {
            env[key] = value;
        }
        return env;
    }

    /// <summary>Polls until the condition holds; fails the test with the description otherwise.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0}s: {await describe()}");
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "pipeline";
}
