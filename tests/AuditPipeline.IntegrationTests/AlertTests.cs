using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Kafka → ingest → store → detector process → alert event in the store, a message on the
/// alerts topic and webhook calls to a local receiver; and a detector killed mid-incident.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class AlertTests(PipelineFixture fx)
{
    private static readonly string[] Agents = ["alert-agent-0000", "alert-agent-0001", "alert-agent-0002"];

    [Fact]
    public async Task A_runaway_agent_gives_one_stored_alert_a_topic_message_and_webhook_calls_retried_with_the_same_key()
    {
        var (store, topic, alertsTopic) = await SetUpAsync();
        using var receiver = new WebhookReceiver(failFirst: 1);
        await using var ingest = fx.StartIngest(store, topic);
        await using var detector = StartDetector(store, alertsTopic, receiver);
        var now = MinuteFloor(DateTimeOffset.UtcNow);

        // 40 minutes of normal traffic, 6 runaway minutes on agent 0, then 10 quiet minutes.
        await EmitAsync(topic, now.AddMinutes(-60), now.AddMinutes(-1), runawayFrom: now.AddMinutes(-20), runawayTo: now.AddMinutes(-14));

        await using var ds = store.SeedDataSource();
        var log = new AlertLog(ds, new PostgresEventStore(ds, TimeProvider.System));
        await PipelineFixture.WaitUntilAsync(async () => (await log.ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default))
            .Any(a => a.Alert.Change == AlertChange.Recovered), TimeSpan.FromMinutes(2), () => Task.FromResult(detector.Output));

        var alerts = (await log.ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default)).Select(a => a.Alert).ToList();
        var opened = Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.Equal(Agents[0], opened.AgentId);
        Assert.Contains("volume", opened.Categories);
        Assert.InRange(opened.StartedAt, now.AddMinutes(-20), now.AddMinutes(-18));
        var evidence = opened.Evidence.First(e => e.Detector == "volume.spike");
        Assert.NotEmpty(evidence.EventIds);
        Assert.True(await store.CountAsync($"SELECT count(*) FROM audit.events WHERE event_id IN ({string.Join(',', evidence.EventIds.Select(id => $"'{id}'"))}) AND stream_id = '{Agents[0]}'") == evidence.EventIds.Count,
            "the evidence names stored events of the agent");
        Assert.All(alerts, a => Assert.Equal(opened.IncidentId, a.IncidentId));
        Assert.Equal(0, (await fx.AuditctlAsync(store, "verify")).ExitCode); // alert chains verify like agent chains

        // The topic: every stored alert change once, keyed by agent, with its idempotency key.
        var messages = ConsumeAll(alertsTopic, alerts.Count);
        Assert.Equal(alerts.Select(a => a.EventId).Order(), messages.Select(m => Guid.Parse(Encoding.UTF8.GetString(m.Message.Headers.GetLastBytes("idempotency-key")))).Order());
        Assert.All(messages, m => Assert.Equal(Agents[0], m.Message.Key));

        // Webhooks: the first call failed (503) and was retried with the same key; each change delivered.
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(receiver.Succeeded("/generic").Count == alerts.Count && receiver.Succeeded("/pagerduty").Count == alerts.Count),
            TimeSpan.FromSeconds(30), () => Task.FromResult(receiver.Describe() + detector.Output));
        Assert.Equal(alerts.Select(a => a.EventId.ToString()).Order(), receiver.Succeeded("/generic").Select(r => r.Key).Order());
        var failed = Assert.Single(receiver.Requests, r => r.Status == 503);
        Assert.Contains(receiver.Requests, r => r.Status == 200 && r.Key == failed.Key && r.Path == failed.Path);
        var trigger = JsonDocument.Parse(receiver.Succeeded("/pagerduty").First(r => r.Key == opened.EventId.ToString()).Body).RootElement;
        Assert.Equal("trigger", trigger.GetProperty("event_action").GetString());
        Assert.Equal(opened.IncidentId.ToString(), trigger.GetProperty("dedup_key").GetString());
        Assert.Equal("test-routing-key", trigger.GetProperty("routing_key").GetString());
        var resolve = JsonDocument.Parse(receiver.Succeeded("/pagerduty").Single(r => r.Key == alerts.Single(a => a.Change == AlertChange.Recovered).EventId.ToString()).Body).RootElement;
        Assert.Equal("resolve", resolve.GetProperty("event_action").GetString());
        Assert.DoesNotContain("test-routing-key", detector.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_detector_killed_mid_incident_continues_it_after_restart_without_a_second_alert()
    {
        var (store, topic, alertsTopic) = await SetUpAsync();
        using var receiver = new WebhookReceiver(failFirst: 0);
        await using var ingest = fx.StartIngest(store, topic);
        await using var ds = store.SeedDataSource();
        var log = new AlertLog(ds, new PostgresEventStore(ds, TimeProvider.System));
        var now = MinuteFloor(DateTimeOffset.UtcNow);

        // The first detector must still hold the incident open when it is killed: without the wall
        // clock closing its quiet minutes (idle advance), only event time moves it, and the events
        // stop mid-runaway. (With 2 s it could recover the incident before the kill on a busy machine.)
        var first = StartDetector(store, alertsTopic, receiver, idleAdvanceSeconds: 3600);
        await EmitAsync(topic, now.AddMinutes(-60), now.AddMinutes(-16), runawayFrom: now.AddMinutes(-20), runawayTo: now.AddMinutes(-12));
        await PipelineFixture.WaitUntilAsync(async () => (await log.ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default))
            .Any(a => a.Alert.Change == AlertChange.Opened), TimeSpan.FromMinutes(2), () => Task.FromResult(first.Output));
        first.Kill(); // SIGKILL while the incident is open and the agent still misbehaves
        await first.DisposeAsync();

        await EmitAsync(topic, now.AddMinutes(-16), now.AddMinutes(-1), runawayFrom: now.AddMinutes(-20), runawayTo: now.AddMinutes(-12));
        await using var second = StartDetector(store, alertsTopic, receiver);
        await PipelineFixture.WaitUntilAsync(async () => (await log.ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default))
            .Any(a => a.Alert.Change == AlertChange.Recovered), TimeSpan.FromMinutes(2), () => Task.FromResult(second.Output));

        var alerts = (await log.ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default)).Select(a => a.Alert).ToList();
        var opened = Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.Single(alerts, a => a.Change == AlertChange.Recovered);
        Assert.All(alerts, a => Assert.Equal(opened.IncidentId, a.IncidentId));
        Assert.True(second.Output.Contains("1 open incidents reloaded", StringComparison.Ordinal), "second detector:\n" + second.Output + "\nfirst detector:\n" + first.Output);
        // Nothing lost on the way out: every stored change reached the webhook (a repeat after the kill carries the same key).
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(receiver.Succeeded("/generic").Select(r => r.Key).Distinct().Count() == alerts.Count),
            TimeSpan.FromSeconds(30), () => Task.FromResult(receiver.Describe()));
        Assert.Equal(alerts.Select(a => a.EventId.ToString()).Order(), receiver.Succeeded("/generic").Select(r => r.Key).Distinct().Order());
    }

    private async Task<(TestStore Store, string Topic, string AlertsTopic)> SetUpAsync()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        // 16 partitions: agents' events reach the store interleaved in any order across agents
        // (each agent's in order); the detectors keep one event-time watermark per agent.
        var (topic, _) = fx.NewTopics(partitions: 16);
        var alertsTopic = topic + ".alerts";
        fx.Kafka.CreateTopic(alertsTopic, 2);
        return (store, topic, alertsTopic);
    }

    private ChildProcess StartDetector(TestStore store, string alertsTopic, WebhookReceiver receiver, int idleAdvanceSeconds = 2) =>
        ChildProcess.StartDotnet(RepoPaths.DetectorServiceDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Detector),
            ["Kafka__BootstrapServers"] = fx.Kafka.BootstrapServers,
            ["Alerts__Topic"] = alertsTopic,
            ["Alerts__MaxRetryDelayMs"] = "500",
            ["Alerts__Webhooks__0__Name"] = "generic",
            ["Alerts__Webhooks__0__Url"] = receiver.Url + "generic",
            ["Alerts__Webhooks__1__Name"] = "pagerduty",
            ["Alerts__Webhooks__1__Url"] = receiver.Url + "pagerduty",
            ["Alerts__Webhooks__1__Format"] = "PagerDuty",
            ["Alerts__Webhooks__1__RoutingKey"] = "test-routing-key",
            ["Detectors__ColdStartMinutes"] = "10",
            ["Detectors__IncidentQuietMinutes"] = "4",
            ["Detection__IdleAdvanceSeconds"] = idleAdvanceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Information",
        });

    /// <summary>Normal traffic for the agents from..to (about 8 a minute each), 300 a minute for agent 0 in the runaway window.</summary>
    private async Task EmitAsync(string topic, DateTimeOffset from, DateTimeOffset to, DateTimeOffset runawayFrom, DateTimeOffset runawayTo)
    {
        var fleet = new SampleFleet(Agents.Length, seed: 3, idPrefix: "alert-agent");
        using var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic);
        var random = new Random(from.Minute);
        for (var minute = from; minute < to; minute = minute.AddMinutes(1))
        {
            foreach (var (agent, index) in fleet.Agents.Select((a, i) => (a, i)))
            {
                var count = index == 0 && minute >= runawayFrom && minute < runawayTo ? 300 : 6 + random.Next(5);
                for (var i = 0; i < count; i++)
                {
                    emitter.Enqueue(fleet.Next(agent, minute.AddSeconds(i * 59.0 / count)));
                }
            }
        }
        Assert.Equal(0, emitter.Flush(TimeSpan.FromSeconds(30)));
        await Task.CompletedTask;
    }

    private List<ConsumeResult<string, byte[]>> ConsumeAll(string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            GroupId = "alert-probe-" + Guid.NewGuid(),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var messages = new List<ConsumeResult<string, byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && messages.Count < expected)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { } m)
            {
                messages.Add(m);
            }
        }
        // A little longer: a duplicate would show up here.
        for (var end = DateTime.UtcNow.AddSeconds(2); DateTime.UtcNow < end;)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } m)
            {
                messages.Add(m);
            }
        }
        return messages;
    }

    private static DateTimeOffset MinuteFloor(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    /// <summary>A local HTTP receiver standing in for Slack/PagerDuty/any webhook: records every request; can fail the first ones.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<Received> _requests = new();
        private int _toFail;

        public WebhookReceiver(int failFirst)
        {
            _toFail = failFirst;
            var port = FreePort();
            Url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public sealed record Received(string Path, string Key, int Status, string Body);

        public string Url { get; }
        public IReadOnlyList<Received> Requests => [.. _requests];
        public List<Received> Succeeded(string path) => [.. _requests.Where(r => r.Path == path && r.Status == 200)];
        public string Describe() => $"webhook requests: {string.Join(", ", _requests.Select(r => $"{r.Path} {r.Status} {r.Key}"))}\n";

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var status = Interlocked.Decrement(ref _toFail) >= 0 ? 503 : 200;
                _requests.Enqueue(new Received(context.Request.Url!.AbsolutePath, context.Request.Headers["Idempotency-Key"] ?? "", status, body));
                context.Response.StatusCode = status;
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        public void Dispose() => _listener.Close();
    }
}
