using AuditPipeline.Emitter;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// Kafka for the commands that send (emit, simulate, scenario, quarantine replay): the configured
/// client settings, and librdkafka's complaints turned into one line on stderr. A broker that is
/// down is reported once; the send gives up after <c>message.timeout.ms</c> with its own error.
/// </summary>
internal static class CliKafka
{
    /// <summary>How long a send may wait for a broker unless Kafka:Client sets message.timeout.ms.</summary>
    public const int DefaultMessageTimeoutMs = 60_000;

    public static AgentActionEmitter Emitter(string command) => new(
        CliSettings.KafkaBootstrap(),
        configure: config =>
        {
            config.MessageTimeoutMs = DefaultMessageTimeoutMs;
            CliSettings.Kafka().Apply(config);
        },
        onKafkaError: WarnOnce(command));

    /// <summary>The first Kafka error as one line; the rest are the same broker still being away.</summary>
    public static Action<string> WarnOnce(string command)
    {
        var warned = 0;
        return reason =>
        {
            if (Interlocked.Exchange(ref warned, 1) == 0)
            {
                Console.Error.WriteLine($"{command}: Kafka: {reason}; still trying (Kafka:Client:message.timeout.ms)");
            }
        };
    }
}
