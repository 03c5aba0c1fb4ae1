using AuditPipeline.ClickHouse;
using AuditPipeline.Integrity;
using AuditPipeline.DevBroker;
using AuditPipeline.Testing;

namespace AuditPipeline.Soak;

/// <summary>
/// The soak's own servers (it stops and kills them, so it shares them with no other test): a
/// PostgreSQL with a migrated store, a ClickHouse with the schema in a database of the store's
/// name, a 3-broker dev Kafka cluster with the topics replicated three times (so partition
/// leadership can move), and a checkpoint signing key.
/// </summary>
public sealed class SoakServers : IAsyncDisposable
{
    private SoakServers(PostgresServer postgres, ClickHouseServer clickHouse, MockKafkaCluster kafka, TestStore store, string work)
    {
        Postgres = postgres;
        ClickHouse = clickHouse;
        Kafka = kafka;
        Store = store;
        WorkDirectory = work;
    }

    public const string Topic = "agent-actions";
    public const string DeadLetterTopic = "agent-actions.dlq";
    public const string AlertsTopic = "agent-alerts";

    public PostgresServer Postgres { get; }
    public ClickHouseServer ClickHouse { get; }
    public MockKafkaCluster Kafka { get; }
    public TestStore Store { get; }
    public string WorkDirectory { get; }
    public string ClickHouseUrl => $"{ClickHouse.HttpUri}?database={Store.Database}";
    public string SigningKeyFile => Path.Combine(WorkDirectory, "checkpoint-signing.pem");
    public string TrustedKeyFile => Path.Combine(WorkDirectory, "checkpoint-trusted.pub.pem");
    public string ExportDirectory => Path.Combine(WorkDirectory, "exports");

    public static async Task<SoakServers> StartAsync(SoakOptions options)
    {
        var postgres = await PostgresServer.StartAsync();
        var clickHouse = await ClickHouseServer.StartAsync();
        var kafka = new MockKafkaCluster(brokers: 3);
        kafka.CreateTopic(Topic, options.Partitions, replicationFactor: 3);
        kafka.CreateTopic(DeadLetterTopic, 2, replicationFactor: 3);
        kafka.CreateTopic(AlertsTopic, 2, replicationFactor: 3);
        var store = await postgres.CreateStoreAsync();
        using (var http = new HttpClient())
        {
            await new ClickHouseClient(http, clickHouse.HttpUri).ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(store.Database)}", default);
            await new ClickHouseSchema(new ClickHouseClient(http, new Uri($"{clickHouse.HttpUri}?database={store.Database}"))).ApplyAsync(default);
        }
        var servers = new SoakServers(postgres, clickHouse, kafka, store, Directory.CreateTempSubdirectory("ap-soak-").FullName);
        Directory.CreateDirectory(servers.ExportDirectory);
        using var signer = CheckpointSigner.Generate();
        await File.WriteAllTextAsync(servers.SigningKeyFile, signer.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(servers.TrustedKeyFile, signer.PublicKeyPem);
        return servers;
    }

    public async ValueTask DisposeAsync()
    {
        Kafka.Dispose();
        await ClickHouse.DisposeAsync();
        await Postgres.DisposeAsync();
        Directory.Delete(WorkDirectory, recursive: true);
    }
}
