using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.Contracts.Tests;

/// <summary>
/// Every agent-action example in docs/*.md goes through the real decoder, so the documentation
/// cannot promise an event the ingest refuses. A ```json block is an example when it has
/// <c>"schema_version"</c> (an event) or <c>"specversion"</c> (a CloudEvents envelope, whose
/// <c>data</c> is checked as an event too). A block the docs show as refused is preceded by
/// <c>&lt;!-- rejected: CODE --&gt;</c> and must be refused with that code.
/// </summary>
public sealed partial class DocumentedExamplesTests
{
    // The examples are stamped 2026-11-22 around 10:15 UTC; decode them as if it were just after.
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 20, 0, TimeSpan.Zero);
    private readonly EventDecoder _decoder = new(new ValidationLimits());

    public sealed record Example(string Where, string Json, string? RejectedAs)
    {
        public override string ToString() => Where;
    }

    public static TheoryData<Example> Examples()
    {
        var data = new TheoryData<Example>();
        foreach (var example in FindExamples())
        {
            data.Add(example);
        }
        return data;
    }

    [Fact]
    public void The_docs_have_the_examples_this_test_expects_to_find()
    {
        var examples = FindExamples();
        // event-contract.md: the full example, the minimal one, the CloudEvents envelope.
        Assert.True(examples.Count >= 3, $"found {examples.Count} examples: {string.Join(", ", examples)}");
        Assert.Contains(examples, x => x.Json.Contains("\"specversion\"", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_documented_example_is_decoded_as_the_docs_say(Example example)
    {
        var node = JsonNode.Parse(example.Json)!.AsObject();
        var (decoded, rejection) = Decode(node);
        if (example.RejectedAs is { } code)
        {
            Assert.True(decoded is null, $"{example}: documented as refused ({code}) but accepted");
            Assert.Equal(code, rejection!.Code);
        }
        else
        {
            Assert.True(rejection is null, $"{example}: refused with {rejection?.Code}: {rejection?.Reason}");
        }

        if (node["specversion"] is not null)
        {
            // The envelope's data is the event, unchanged: it must be accepted on its own.
            var (data, dataRejection) = Decode(node["data"]!.AsObject());
            Assert.True(dataRejection is null, $"{example} data: refused with {dataRejection?.Code}: {dataRejection?.Reason}");
            Assert.Equal(node["id"]!.GetValue<string>(), data!.Event.EventId.ToString());
            Assert.Equal(node["subject"]!.GetValue<string>(), data.Event.Agent.Id);
        }
    }

    private (DecodedEvent? Event, Rejection? Rejection) Decode(JsonObject node)
    {
        // Sent as the docs say: keyed by agent.id.
        var key = (node["agent"]?["id"] ?? node["data"]?["agent"]?["id"])?.GetValue<string>() ?? "";
        return _decoder.Decode(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(node.ToJsonString()), Now);
    }

    private static List<Example> FindExamples()
    {
        var examples = new List<Example>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```json")
                {
                    continue;
                }
                var start = i;
                var body = new StringBuilder();
                for (i++; i < lines.Length && lines[i].Trim() != "```"; i++)
                {
                    body.AppendLine(lines[i]);
                }
                var json = body.ToString();
                if (!json.Contains("\"schema_version\"", StringComparison.Ordinal) && !json.Contains("\"specversion\"", StringComparison.Ordinal))
                {
                    continue;
                }
                var marker = start > 0 ? RejectedMarker().Match(lines[start - 1]) : Match.Empty;
                examples.Add(new($"docs/{Path.GetFileName(file)}:{start + 1}", json, marker.Success ? marker.Groups[1].Value : null));
            }
        }
        return examples;
    }

    [GeneratedRegex(@"^\s*<!--\s*rejected:\s*([a-z_]+)\s*-->\s*$")]
    private static partial Regex RejectedMarker();
}
