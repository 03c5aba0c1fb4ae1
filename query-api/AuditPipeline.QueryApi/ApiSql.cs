using AuditPipeline.EventStore;

namespace AuditPipeline.QueryApi;

/// <summary>The SQL owned by the query API's own read-model queries: one property per file in Sql/.</summary>
public static class ApiSql
{
    public static EmbeddedSql Files { get; } = new(typeof(ApiSql).Assembly);

    public static string Agent => Files["api_agent"];
    public static string AgentsPage => Files["api_agents_page"];
}
