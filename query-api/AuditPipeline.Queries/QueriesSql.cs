using AuditPipeline.EventStore;

namespace AuditPipeline.Queries;

/// <summary>The SQL owned by the questions the API, the console and the CLI all answer: one property per file in Sql/.</summary>
public static class QueriesSql
{
    public static EmbeddedSql Files { get; } = new(typeof(QueriesSql).Assembly);

    public static string WhyAuthorized => Files["why_authorized"];
}
