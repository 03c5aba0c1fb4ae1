namespace AuditPipeline.Kafka;

public static class Topics
{
    public const string AgentActions = "agent-actions";
    public const string AgentActionsDeadLetter = "agent-actions.dlq";
    public const string AgentAlerts = "agent-alerts";
    public const string Checkpoints = "audit-checkpoints";
}

/// <summary>Where Kafka is. Either an explicit bootstrap list or the file the dev broker writes it to.</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    public string? BootstrapServers { get; set; }

    /// <summary>File holding the bootstrap list (the dev broker picks random ports and writes them here).</summary>
    public string? BootstrapFile { get; set; }

    /// <summary>
    /// Extra librdkafka properties for every client (e.g. security.protocol, sasl.*, ssl.*,
    /// fetch.wait.max.ms), as in the librdkafka configuration reference. Secrets here are never logged.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];

    /// <summary>Copies <see cref="Client"/> onto a Confluent config (last word over the defaults).</summary>
    public T Apply<T>(T config) where T : Confluent.Kafka.ClientConfig
    {
        foreach (var (key, value) in Client)
        {
            config.Set(key, value);
        }
        return config;
    }

    public string ResolveBootstrapServers()
    {
        if (!string.IsNullOrWhiteSpace(BootstrapServers))
        {
            return BootstrapServers;
        }
        if (string.IsNullOrWhiteSpace(BootstrapFile))
        {
            throw new InvalidOperationException("Set Kafka:BootstrapServers or Kafka:BootstrapFile.");
        }
        if (!File.Exists(BootstrapFile))
        {
            throw new InvalidOperationException($"Kafka:BootstrapFile '{BootstrapFile}' does not exist; is the dev broker running (infra/up)?");
        }
        var servers = File.ReadAllText(BootstrapFile).Trim();
        return servers.Length > 0 ? servers : throw new InvalidOperationException($"Kafka:BootstrapFile '{BootstrapFile}' is empty.");
    }
}
