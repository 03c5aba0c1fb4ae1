using AuditPipeline.EventStore;

namespace AuditPipeline.Access;

/// <summary>The SQL owned by access: API keys and each agent's pinned scope: one property per file in Sql/.</summary>
public static class AccessSql
{
    public static EmbeddedSql Files { get; } = new(typeof(AccessSql).Assembly);

    public static string AgentScopeFind => Files["agent_scope_find"];
    public static string AgentScopeOf => Files["agent_scope_of"];
    public static string AgentsOfOwners => Files["agents_of_owners"];
    public static string ApiKeyFind => Files["api_key_find"];
    public static string ApiKeyInsert => Files["api_key_insert"];
    public static string ApiKeyList => Files["api_key_list"];
    public static string ApiKeyRevoke => Files["api_key_revoke"];
}
