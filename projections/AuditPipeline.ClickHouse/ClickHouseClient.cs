using System.Net;
using System.Net.Sockets;
using System.Text;
using AuditPipeline.Resilience;

namespace AuditPipeline.ClickHouse;

/// <summary>The server refused a query; <see cref="ServerMessage"/> is what it said.</summary>
public sealed class ClickHouseException(HttpStatusCode status, string serverMessage, string queryStart)
    : Exception($"ClickHouse answered {(int)status}: {serverMessage.Trim()} (query: {queryStart})")
{
    public HttpStatusCode Status { get; } = status;
    public string ServerMessage { get; } = serverMessage;

    /// <summary>The server stopped the query at max_execution_time (code 159, TIMEOUT_EXCEEDED).</summary>
    public bool IsTimeout => IsTimeoutMessage(ServerMessage);

    internal static bool IsTimeoutMessage(string serverMessage) =>
        serverMessage.Contains("Code: 159,", StringComparison.Ordinal) || serverMessage.Contains("TIMEOUT_EXCEEDED", StringComparison.Ordinal);
}

/// <summary>
/// ClickHouse over its HTTP interface: queries in the body, non-200 answers are errors with the
/// server's message, inserts in RowBinary. Queries are retried with backoff on connection
/// failures and overload; a query the server rejects is not. Inserts are never retried here:
/// an insert whose answer was lost may have been applied, so only the caller can decide
/// (the projection re-reads what ClickHouse holds before inserting again).
/// With <paramref name="maxExecutionTime"/> every query carries the setting
/// <c>max_execution_time</c> (whole seconds, in the URL, which ClickHouse 18.16 accepts; a user
/// with readonly=1 may not change settings, readonly=2 may), so the server itself stops a query
/// that runs longer; such a query is not retried.
/// </summary>
public sealed class ClickHouseClient(HttpClient http, Uri baseUri, int maxAttempts = 5, TimeSpan? maxExecutionTime = null)
{
    private readonly Uri _queryUri = maxExecutionTime is { } limit
        ? WithParameter(baseUri, "max_execution_time=" + Math.Max(1, (long)Math.Ceiling(limit.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture))
        : baseUri;

    public async Task ExecuteAsync(string sql, CancellationToken ct) => await QueryAsync(sql, ct);

    /// <summary>Runs a query and returns the body (ask for a format in the SQL, e.g. FORMAT TSV).</summary>
    public Task<string> QueryAsync(string sql, CancellationToken ct) =>
        SendAsync(() => new StringContent(sql, Encoding.UTF8), _queryUri, sql, maxAttempts, ct);

    /// <summary>Inserts rows encoded by <paramref name="body"/> in RowBinary into the given columns.</summary>
    public Task InsertRowBinaryAsync(string table, IReadOnlyList<string> columns, byte[] body, CancellationToken ct)
    {
        var insert = $"INSERT INTO {ClickHouseSql.Identifier(table)} ({string.Join(", ", columns.Select(ClickHouseSql.Identifier))}) FORMAT RowBinary";
        // Keep the base URL's own parameters (database=..., settings) and add the query.
        var uri = WithParameter(baseUri, "query=" + Uri.EscapeDataString(insert));
        return SendAsync(() => new ByteArrayContent(body), uri, insert, attempts: 1, ct);
    }

    private static Uri WithParameter(Uri uri, string parameter) =>
        new(uri + (string.IsNullOrEmpty(uri.Query) ? "?" : "&") + parameter);

    private async Task<string> SendAsync(Func<HttpContent> content, Uri uri, string sql, int attempts, CancellationToken ct)
    {
        if (attempts <= 1)
        {
            return await SendOnceAsync(content, uri, sql, ct);
        }
        // Waits are not logged here: this client has no logger, and the caller sees the last error.
        var retry = RetryPolicies.Create(new Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5)), IsTransient, _ => { }, maxRetries: attempts - 1);
        return await retry.ExecuteAsync(async (CancellationToken token) => await SendOnceAsync(content, uri, sql, token), ct);
    }

    private async Task<string> SendOnceAsync(Func<HttpContent> content, Uri uri, string sql, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content() };
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return response.StatusCode == HttpStatusCode.OK
            ? text
            : throw new ClickHouseException(response.StatusCode, text, sql.Length <= 120 ? sql : sql[..120] + "…");
    }

    // Server down or restarting, or an overload-like answer: worth another attempt.
    private static bool IsTransient(Exception ex) => ex switch
    {
        ClickHouseException ch => (int)ch.Status >= 500 && LooksTransient(ch.ServerMessage),
        HttpRequestException http => http.InnerException is SocketException or IOException,
        _ => false,
    };

    // 5xx is also how ClickHouse reports a bad query; only overload-like answers are retried. A
    // query stopped at max_execution_time would only run as long again.
    private static bool LooksTransient(string serverMessage) =>
        !ClickHouseException.IsTimeoutMessage(serverMessage) && (serverMessage.Contains("TOO_MANY_SIMULTANEOUS_QUERIES", StringComparison.Ordinal)
        || serverMessage.Contains("Too many simultaneous queries", StringComparison.Ordinal)
        || serverMessage.Contains("MEMORY_LIMIT_EXCEEDED", StringComparison.Ordinal)
        || serverMessage.Contains("Timeout", StringComparison.Ordinal));
}
