using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AuditPipeline.Access;

namespace AuditPipeline.Soak;

/// <summary>Asks the query API, as an auditor with a real key would: health, and the agent inventory.</summary>
public sealed class ApiProbe(Uri baseUrl, HttpClient http)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private string? _token;

    public sealed record AgentRow(string AgentId, long Actions);
    private sealed record AgentPage(List<AgentRow> Items, string? NextCursor);

    public async Task CreateKeyAsync(SoakServers servers)
    {
        await using var ds = servers.Store.SeedDataSource();
        (_, _token) = await new ApiKeyStore(ds, TimeProvider.System).CreateAsync(
            "soak-auditor@example.com", [Roles.Auditor], [], [], "fault soak", DateTimeOffset.UtcNow.AddDays(1), "soak", default);
    }

    /// <summary>Waits until /health answers 200 (the API just restarted); false if it never does.</summary>
    public async Task<bool> WaitHealthyAsync(TimeSpan timeout)
    {
        for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            try
            {
                using var response = await http.GetAsync(new Uri(baseUrl, "health"));
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // a slow start
            }
        }
        return false;
    }

    /// <summary>Every agent of the inventory (authenticated, paged), with its action count.</summary>
    public async Task<(int Status, List<AgentRow> Agents)> AgentsAsync(CancellationToken ct)
    {
        var agents = new List<AgentRow>();
        string? cursor = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, "v1/agents?limit=500" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token ?? throw new InvalidOperationException("No API key yet."));
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                return ((int)response.StatusCode, agents);
            }
            var page = await response.Content.ReadFromJsonAsync<AgentPage>(Web, ct) ?? throw new InvalidOperationException("An empty agents page.");
            agents.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return (200, agents);
    }
}
