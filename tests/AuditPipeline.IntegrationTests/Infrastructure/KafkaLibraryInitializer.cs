using System.Runtime.CompilerServices;
using AuditPipeline.Kafka;

namespace AuditPipeline.IntegrationTests.Infrastructure;

internal static class KafkaLibraryInitializer
{
    /// <summary>Before any test touches Confluent.Kafka: it binds its native library once, on first use.</summary>
#pragma warning disable CA2255 // this assembly is where the test process starts, as far as Kafka is concerned
    [ModuleInitializer]
    internal static void Load() => KafkaNative.Load();
#pragma warning restore CA2255
}
