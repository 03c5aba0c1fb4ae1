using System.Globalization;
using System.Text;
using AuditPipeline.ClickHouse;
using AuditPipeline.IntegrationTests.Infrastructure;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Our ClickHouse HTTP client and quoting against a real ClickHouse server.</summary>
[Collection(PipelineCollection.Name)]
public sealed class ClickHouseTests(PipelineFixture fx) : IDisposable
{
    private readonly HttpClient _http = new();

    private static readonly string[] HostileValues =
    [
        "plain",
        "it's",
        "'; DROP TABLE hostile; --",
        "\\' OR 1=1 --",
        "back\\slash\\",
        "\\",
        "'",
        "''",
        "nul\0inside",
        "new\nline\r\ttab",
        "\u0001\u001f\u007f control",
        "unicode: żółć 日本語 🤖 \u2028 \u200b",
        "\" double \" quotes `backticks`",
        "{curly} $dollar %percent ? question",
        "FORMAT TSV",
        "1); SELECT 1; --",
    ];

    public static TheoryData<string> Hostile => new(HostileValues);

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_strings_round_trip_as_literals(string value)
    {
        var client = Client();
        var hex = Convert.ToHexString(Encoding.UTF8.GetBytes(value));
        var answer = await client.QueryAsync(
            $"SELECT {ClickHouseSql.Literal(value)} = unhex({ClickHouseSql.Literal(hex)}), length({ClickHouseSql.Literal(value)}) FORMAT TSV", default);
        Assert.Equal($"1\t{Encoding.UTF8.GetByteCount(value).ToString(CultureInfo.InvariantCulture)}", answer.Trim());
    }

    [Fact]
    public async Task Hostile_strings_round_trip_through_a_RowBinary_insert_and_a_quoted_filter()
    {
        var client = Client();
        var table = $"hostile_{Guid.NewGuid():N}";
        await client.ExecuteAsync($"CREATE TABLE {ClickHouseSql.Identifier(table)} (id UInt64, s String) ENGINE = MergeTree ORDER BY id", default);
        var values = HostileValues.ToList();
        using (var rows = new RowBinaryWriter())
        {
            for (var i = 0; i < values.Count; i++)
            {
                rows.UInt64((ulong)i).String(values[i]).EndRow();
            }
            await client.InsertRowBinaryAsync(table, ["id", "s"], rows.ToArray(), default);
        }

        var stored = (await client.QueryAsync($"SELECT id, hex(s) FROM {ClickHouseSql.Identifier(table)} ORDER BY id FORMAT TSV", default))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .ToDictionary(p => int.Parse(p[0], CultureInfo.InvariantCulture), p => Encoding.UTF8.GetString(Convert.FromHexString(p[1])));
        Assert.Equal(values.Count, stored.Count);
        for (var i = 0; i < values.Count; i++)
        {
            Assert.Equal(values[i], stored[i]);
            // Each value used as a filter matches exactly its own row and nothing else.
            var matched = await client.QueryAsync($"SELECT id FROM {ClickHouseSql.Identifier(table)} WHERE s = {ClickHouseSql.Literal(values[i])} FORMAT TSV", default);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), matched.Trim());
        }
        Assert.Equal(values.Count.ToString(CultureInfo.InvariantCulture),
            (await client.QueryAsync($"SELECT count() FROM {ClickHouseSql.Identifier(table)} FORMAT TSV", default)).Trim());
    }

    [Theory]
    [InlineData("events; DROP TABLE x")]
    [InlineData("`events`")]
    [InlineData("1events")]
    [InlineData("")]
    [InlineData("ev ents")]
    public void Identifiers_other_than_plain_names_are_refused(string name) =>
        Assert.Throws<ArgumentException>(() => ClickHouseSql.Identifier(name));

    [Fact]
    public async Task A_rejected_query_surfaces_the_server_message()
    {
        var ex = await Assert.ThrowsAsync<ClickHouseException>(() => Client().QueryAsync("SELECT * FROM no_such_table_here", default));
        Assert.Contains("no_such_table_here", ex.ServerMessage, StringComparison.Ordinal);
        Assert.Contains("no_such_table_here", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_retried_then_reported()
    {
        var client = new ClickHouseClient(_http, new Uri($"http://127.0.0.1:{Testing.PostgresServer.FreePort()}/"), maxAttempts: 2);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.QueryAsync("SELECT 1", default));
    }

    private ClickHouseClient Client() => new(_http, fx.ClickHouse.HttpUri);

    public void Dispose() => _http.Dispose();
}
