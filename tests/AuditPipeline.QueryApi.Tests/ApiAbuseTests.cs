using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Redaction;
using AuditPipeline.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>Issue 14 (trust boundaries): the query API under floods, outages, queue pressure and prying query strings.</summary>
[Collection(ApiCollection.Name)]
public sealed class ApiAbuseTests(ApiFixture fx)
{
    [Fact]
    public async Task Flood_of_random_keys_is_rate_limited_before_any_key_lookup()
    {
        const int Requests = 200, Burst = 5, PerSecond = 1;
        var store = await fx.NewStoreAsync();
        await using var factory = fx.CreateFactory(store, new Dictionary<string, string>
        {
            ["QueryApi:RequestsPerSecond"] = $"{PerSecond}", ["QueryApi:Burst"] = $"{Burst}", ["QueryApi:AnonymousSummarySeconds"] = "1",
        });
        using var counters = new ApiCounters(factory);
        using var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/agents");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RandomToken());
            using var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        var elapsed = clock.Elapsed;

        var refused = statuses.Count(s => s == HttpStatusCode.TooManyRequests);
        var unauthorized = statuses.Count(s => s == HttpStatusCode.Unauthorized);
        Assert.Equal(Requests, refused + unauthorized);
        // The bucket's size plus what it refilled while the flood ran: random ids share the sender's bucket.
        var lookups = counters["auditpipeline.api.key_lookups"];
        Assert.InRange(lookups, 1, Burst + (PerSecond * (long)Math.Ceiling(elapsed.TotalSeconds)));
        Assert.Equal(unauthorized, lookups);
        Assert.Equal(refused, counters["auditpipeline.api.requests_rate_limited"]);

        // In the store: counts in one aggregated stream, nothing per request or per key id.
        await using var ds = store.SeedDataSource();
        var summaries = await WaitForAggregatedAsync(ds, Requests);
        Assert.Equal(Requests, summaries.Sum(s => s.Calls));
        Assert.Equal(refused, CallsOf(summaries, AnonymousCalls.RateLimited));
        Assert.Equal(unauthorized, CallsOf(summaries, AnonymousCalls.UnknownKey));
        Assert.Equal(["api anonymous"], await ApiStreamsAsync(ds));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.events WHERE event_type = 'api-call.v1'"));
    }

    [Fact]
    public async Task Failed_authentications_from_random_keys_are_aggregated_into_one_stream()
    {
        var store = await fx.NewStoreAsync();
        await using var ds = store.SeedDataSource();
        var (key, token) = await new ApiKeyStore(ds, TimeProvider.System).CreateAsync("auditor@example.com", [Roles.Auditor], [], [], "aggregation test", null, "test", default);
        await using var factory = fx.CreateFactory(store, new Dictionary<string, string> { ["QueryApi:AnonymousSummarySeconds"] = "1" });
        using var client = factory.CreateClient();

        var randomIds = new List<string>();
        async Task<HttpStatusCode> GetAsync(string? presented)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/agents");
            if (presented is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {presented}");
            }
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }
        for (var i = 0; i < 30; i++)
        {
            var random = RandomToken();
            randomIds.Add(random.Substring(4, 12));
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(random));
        }
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync($"apk_not-a-key-{i}"));
        }
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(null));
        }
        Assert.Equal(HttpStatusCode.OK, await GetAsync(token));

        var summaries = await WaitForAggregatedAsync(ds, 45);
        Assert.Equal(30, CallsOf(summaries, AnonymousCalls.UnknownKey));
        Assert.Equal(10, CallsOf(summaries, AnonymousCalls.MalformedKey));
        Assert.Equal(5, CallsOf(summaries, AnonymousCalls.NoKey));
        await WaitForAsync(async () => (await ApiStreamsAsync(ds)).Count >= 2);
        Assert.Equal([.. new[] { "api anonymous", $"api {key.KeyId}" }.Order(StringComparer.Ordinal)], await ApiStreamsAsync(ds));
        var everything = await store.CountAsync($"SELECT count(*) FROM audit.events WHERE {string.Join(" OR ", randomIds.Select(id => $"payload::text LIKE '%{id}%'"))}");
        Assert.Equal(0, everything);
    }

    [Fact]
    public async Task Call_recording_with_the_store_down_drops_and_counts_but_requests_still_answer()
    {
        const int Buffer = 5, Requests = 40;
        await using var dead = NpgsqlDataSource.Create("Host=127.0.0.1;Port=9;Database=none;Username=none;Password=none;Timeout=2");
        await using var factory = fx.CreateFactory().WithWebHostBuilder(b =>
        {
            b.UseSetting("QueryApi:CallRecordBuffer", $"{Buffer}");
            b.ConfigureTestServices(s => s.AddSingleton(new CallRecordStore(new PostgresEventStore(dead, TimeProvider.System))));
        });
        using var counters = new ApiCounters(factory);
        using var client = fx.Client("auditor", factory);

        for (var i = 0; i < Requests; i++)
        {
            using var response = await client.GetAsync("/v1/agents?limit=1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // At most one batch in the writer's hands and a full buffer were kept; the rest was dropped, not waited for.
        Assert.True(counters["auditpipeline.api.call_records_dropped"] >= Requests - (2 * Buffer), $"dropped {counters["auditpipeline.api.call_records_dropped"]}");
        Assert.Equal(0, counters["auditpipeline.api.call_records_written"]);
        using var anonymous = fx.Client(null, factory);
        using var readiness = await anonymous.GetAsync("/health/ready");
        var check = JsonDocument.Parse(await readiness.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "call-records");
        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.Matches("[1-9][0-9]* dropped since start", check.GetProperty("detail").GetString());
        // The host is still up and answering.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/agents?limit=1")).StatusCode);
    }

    [Fact]
    public async Task A_full_export_queue_answers_429_for_the_key_and_503_for_everyone()
    {
        var store = await fx.NewStoreAsync();
        await using var ds = store.SeedDataSource();
        var keys = new ApiKeyStore(ds, TimeProvider.System);
        var tokens = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            tokens.Add((await keys.CreateAsync($"auditor{i}@example.com", [Roles.Auditor], [], [], "export queue test", null, "test", default)).Token);
        }
        await using var factory = fx.CreateFactory(store, new Dictionary<string, string>
        {
            ["QueryApi:MaxPendingExports"] = "2", ["QueryApi:MaxPendingExportsPerKey"] = "1",
        });
        var body = new { from = DateTimeOffset.UtcNow.AddHours(-1), to = DateTimeOffset.UtcNow };
        HttpClient Client(int i) => fx.ClientWithToken(tokens[i], factory);

        // Hold the tables an export reads, so the accepted exports stay pending while the others ask.
        await using var owner = store.AdminDataSource();
        await using var conn = await owner.OpenConnectionAsync();
        await using var hold = await conn.BeginTransactionAsync();
        await using (var cmd = new NpgsqlCommand("LOCK TABLE audit.events, audit.log_head, audit.merkle_nodes, audit.checkpoints, audit.signing_keys IN ACCESS EXCLUSIVE MODE", conn, hold))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        var accepted = new List<(HttpClient Client, Guid Id)>();
        using (var first = await Client(0).PostAsJsonAsync("/v1/exports", body))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            accepted.Add((Client(0), (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid()));
        }
        using (var again = await Client(0).PostAsJsonAsync("/v1/exports", body))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
            Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
            Assert.True(again.Headers.Contains("Retry-After"));
            Assert.Contains("MaxPendingExportsPerKey", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var second = await Client(1).PostAsJsonAsync("/v1/exports", body))
        {
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
            accepted.Add((Client(1), (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid()));
        }
        using (var full = await Client(2).PostAsJsonAsync("/v1/exports", body))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
            Assert.Equal("application/problem+json", full.Content.Headers.ContentType?.MediaType);
            Assert.Contains("MaxPendingExports", await full.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await hold.RollbackAsync();
        foreach (var (client, id) in accepted)
        {
            await WaitForAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/v1/exports/{id}")).GetProperty("state").GetString() is "done" or "failed");
        }
        // Once the queue drains, the same caller is admitted.
        using var later = await Client(2).PostAsJsonAsync("/v1/exports", body);
        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        var laterId = (await later.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForAsync(async () => (await Client(2).GetFromJsonAsync<JsonElement>($"/v1/exports/{laterId}")).GetProperty("state").GetString() is "done" or "failed");
    }

    [Fact]
    public async Task A_personal_query_value_is_not_stored_in_the_call_record()
    {
        var person = $"p{Guid.NewGuid():N}@example.com";
        var team = $"t{Guid.NewGuid():N}";
        var text = $"x{Guid.NewGuid():N}";
        using (var client = fx.Client("auditor"))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/agents?owner={Uri.EscapeDataString(person)}&team={team}&q=about%20{text}")).StatusCode);
        }
        await using var ds = fx.Store.SeedDataSource();
        var stored = await WaitForCallAsync(ds, team);
        Assert.DoesNotContain(person, stored.Payload, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(person), stored.Payload, StringComparison.Ordinal);
        Assert.DoesNotContain(text, stored.Payload, StringComparison.Ordinal);
        Assert.Equal($"?owner=[redacted]&team={team}&q=[redacted]", stored.Call.Query);

        // With a master key the value is kept as the keyed hash: comparable, not readable.
        var master = RandomNumberGenerator.GetBytes(32);
        var hashedTeam = $"t{Guid.NewGuid():N}";
        await using (var keyed = fx.CreateFactory(fx.Store, new Dictionary<string, string> { ["Redaction:MasterKey"] = Convert.ToBase64String(master) }))
        {
            using var client = fx.Client("auditor", keyed);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/agents?owner={Uri.EscapeDataString(person)}&team={hashedTeam}")).StatusCode);
        }
        var hashed = await WaitForCallAsync(ds, hashedTeam);
        Assert.DoesNotContain(person, hashed.Payload, StringComparison.Ordinal);
        var expected = new RedactionKeys(master).HashValue("api-call.query.owner", person);
        Assert.StartsWith(FieldEnvelope.HashedPrefix, expected, StringComparison.Ordinal);
        Assert.Equal($"?owner={expected}&team={hashedTeam}", hashed.Call.Query);
    }

    [Fact]
    public async Task Verify_without_an_agent_and_day_counts_are_capped_in_range()
    {
        using var client = fx.Client("auditor");
        var now = DateTimeOffset.UtcNow;
        string Time(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));

        using var whole = await client.GetAsync("/v1/verify");
        Assert.Equal(HttpStatusCode.BadRequest, whole.StatusCode);
        Assert.Contains("auditctl verify", await whole.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var tooLong = await client.GetAsync($"/v1/verify?from={Time(now.AddDays(-30))}&to={Time(now)}");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var day = await client.GetFromJsonAsync<JsonElement>($"/v1/verify?from={Time(now.AddDays(-1))}&to={Time(now.AddMinutes(1))}");
        Assert.True(day.GetProperty("intact").GetBoolean());
        Assert.True(day.GetProperty("eventsChecked").GetInt64() > 0);

        using var years = await client.GetAsync($"/v1/actions/counts?bucket=day&from={Time(now.AddDays(-400))}&to={Time(now)}");
        Assert.Equal(HttpStatusCode.BadRequest, years.StatusCode);
        using var year = await client.GetAsync($"/v1/actions/counts?bucket=day&from={Time(now.AddDays(-300))}&to={Time(now)}");
        Assert.Equal(HttpStatusCode.OK, year.StatusCode);
    }

    [Fact]
    public async Task A_clickhouse_query_past_max_execution_time_is_stopped_by_the_server_and_not_retried()
    {
        var counting = new CountingHandler(new HttpClientHandler());
        using var http = new HttpClient(counting) { Timeout = TimeSpan.FromSeconds(60) };
        var clickHouse = new ClickHouseClient(http, new Uri(fx.ClickHouseUrl), maxExecutionTime: TimeSpan.FromSeconds(1));

        Assert.Equal("1\n", await clickHouse.QueryAsync("SELECT 1 FORMAT TSV", default));
        Assert.Contains("max_execution_time=1", counting.Uris.Single().Query, StringComparison.Ordinal);

        // Unbounded without the setting: system.numbers never ends.
        var ex = await Assert.ThrowsAsync<ClickHouseException>(() => clickHouse.QueryAsync("SELECT count() FROM system.numbers FORMAT TSV", default));
        Assert.True(ex.IsTimeout, ex.ServerMessage);
        Assert.Equal(2, counting.Uris.Count);
    }

    private static string RandomToken() =>
        $"apk_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}_{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";

    private static long CallsOf(IEnumerable<ApiCallsAggregated> summaries, string reason) =>
        summaries.SelectMany(s => s.Groups).Where(g => g.Reason == reason).Sum(g => g.Calls);

    private static async Task<List<string>> ApiStreamsAsync(NpgsqlDataSource ds)
    {
        await using var cmd = ds.CreateCommand("SELECT DISTINCT stream_id FROM audit.events WHERE stream_id LIKE 'api %' AND stream_id <> 'api keys'"); // the key registry's chain, not a caller's
        await using var reader = await cmd.ExecuteReaderAsync();
        var streams = new List<string>();
        while (await reader.ReadAsync())
        {
            streams.Add(reader.GetString(0));
        }
        return [.. streams.Order(StringComparer.Ordinal)];
    }

    /// <summary>The aggregated records, once they count at least <paramref name="calls"/> calls (they are written every second here).</summary>
    private static async Task<List<ApiCallsAggregated>> WaitForAggregatedAsync(NpgsqlDataSource ds, long calls)
    {
        var summaries = new List<ApiCallsAggregated>();
        await WaitForAsync(async () =>
        {
            summaries.Clear();
            await using var cmd = ds.CreateCommand("SELECT payload::text FROM audit.events WHERE event_type = 'api-calls-aggregated.v1'");
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                summaries.Add(ContractJson.DeserializeApiCallsAggregated(System.Text.Encoding.UTF8.GetBytes(reader.GetString(0))));
            }
            return summaries.Sum(s => s.Calls) >= calls;
        });
        return summaries;
    }

    private static async Task<(ApiCallRecorded Call, string Payload)> WaitForCallAsync(NpgsqlDataSource ds, string marker)
    {
        string? payload = null;
        await WaitForAsync(async () =>
        {
            await using var cmd = ds.CreateCommand("SELECT payload::text FROM audit.events WHERE event_type = 'api-call.v1' AND payload::text LIKE @m");
            cmd.Parameters.AddWithValue("m", $"%{marker}%");
            payload = await cmd.ExecuteScalarAsync() as string;
            return payload is not null;
        });
        return (ContractJson.DeserializeApiCall(System.Text.Encoding.UTF8.GetBytes(payload!)), payload!);
    }

    /// <summary>Polls until the condition holds; fails (not hangs) after a generous while.</summary>
    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("The condition did not hold within 30 seconds.");
    }

    /// <summary>Sums the API's counters (meter AuditPipeline.QueryApi) of one factory's host only.</summary>
    private sealed class ApiCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _totals = new();

        public ApiCounters(WebApplicationFactory<QueryApiOptions> factory)
        {
            var meters = factory.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ApiMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _totals.AddOrUpdate(instrument.Name, value, (_, total) => total + value));
            _listener.Start();
        }

        public long this[string name] => _totals.GetValueOrDefault(name);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public ConcurrentQueue<Uri> Uris { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Uris.Enqueue(request.RequestUri!);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
