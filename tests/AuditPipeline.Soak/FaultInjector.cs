using AuditPipeline.DevBroker;
using Confluent.Kafka;

namespace AuditPipeline.Soak;

public enum Fault
{
    KillIngest,
    KillProjector,
    KillDetector,
    KillApi,
    RestartPostgres,
    RestartClickHouse,
    MoveLeaders,
}

/// <summary>
/// Until cancelled, one fault at a time after a random pause, in an order drawn from the seed:
/// each round is a shuffled bag of every kind, so every kind happens once in any seven faults.
/// Services are SIGKILLed and started again after a short random pause; PostgreSQL is stopped
/// (fast: connections cut) and started; ClickHouse is killed and started; partition leaders of
/// the agent-actions topic move to other brokers.
/// </summary>
public sealed class FaultInjector(SoakServers servers, PipelineServices services, SoakOptions options, Action<string> log)
{
    private readonly Random _random = new(options.Seed);
    private readonly Dictionary<Fault, int> _counts = Enum.GetValues<Fault>().ToDictionary(f => f, _ => 0);

    public IReadOnlyDictionary<Fault, int> Counts => _counts;

    /// <summary>Partitions whose leader moved (one leader-move fault moves one to three).</summary>
    public int LeaderMoves { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        var bag = new Queue<Fault>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(Between(options.MinFaultInterval, options.MaxFaultInterval), ct);
                if (bag.Count == 0)
                {
                    var kinds = Enum.GetValues<Fault>();
                    _random.Shuffle(kinds);
                    kinds.ToList().ForEach(bag.Enqueue);
                }
                var fault = bag.Dequeue();
                log($"soak: +{(DateTimeOffset.UtcNow - start).TotalSeconds:0}s ({DateTimeOffset.UtcNow:HH:mm:ss.fff}) {Describe(fault)}");
                // A fault, once begun, completes: a service killed is started again, a stopped server restarted.
                await InjectAsync(fault);
                _counts[fault]++;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task InjectAsync(Fault fault)
    {
        var down = Between(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2));
        switch (fault)
        {
            case Fault.KillIngest:
                await services.Ingest.KillAndRestartAsync(down, default);
                break;
            case Fault.KillProjector:
                await services.Projector.KillAndRestartAsync(down, default);
                break;
            case Fault.KillDetector:
                await services.Detector.KillAndRestartAsync(down, default);
                break;
            case Fault.KillApi:
                await services.Api.KillAndRestartAsync(down, default);
                break;
            case Fault.RestartPostgres:
                await servers.Postgres.StopServerAsync();
                await Task.Delay(down);
                await servers.Postgres.StartServerAsync();
                break;
            case Fault.RestartClickHouse:
                await servers.ClickHouse.RestartAsync(down);
                break;
            case Fault.MoveLeaders:
                MoveLeaders(servers.Kafka, count: _random.Next(1, 4));
                break;
        }
    }

    private void MoveLeaders(MockKafkaCluster kafka, int count)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var partitions = admin.GetMetadata(SoakServers.Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        foreach (var partition in partitions.OrderBy(_ => _random.Next()).Take(count))
        {
            // Another broker than the current leader: 1..N without it.
            var from = partition.Leader >= 1 ? partition.Leader : 1;
            var to = 1 + ((from - 1 + _random.Next(1, kafka.Brokers)) % kafka.Brokers);
            kafka.SetPartitionLeader(SoakServers.Topic, partition.PartitionId, to);
            LeaderMoves++;
        }
    }

    private TimeSpan Between(TimeSpan min, TimeSpan max) => min + ((max - min) * _random.NextDouble());

    private static string Describe(Fault fault) => fault switch
    {
        Fault.KillIngest => "SIGKILL ingest",
        Fault.KillProjector => "SIGKILL projector",
        Fault.KillDetector => "SIGKILL detector",
        Fault.KillApi => "SIGKILL query API",
        Fault.RestartPostgres => "restart PostgreSQL",
        Fault.RestartClickHouse => "restart ClickHouse",
        _ => "move partition leaders",
    };
}
