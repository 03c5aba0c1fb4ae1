using System.Text.RegularExpressions;
using AuditPipeline.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// The production deployment (infra/production) cannot run here (no Docker, no cluster), so what
/// can be checked offline is: every file parses, every setting it passes exists in the code, every
/// secret and config map it uses is declared, the image starts processes that are built, and the
/// ClickHouse cluster DDL covers every single-server table.
/// </summary>
public sealed partial class DeploymentTests
{
    private static readonly string Production = Path.Combine(RepoPaths.Root, "infra", "production");

    /// <summary>Settings the framework reads itself, not our options classes.</summary>
    private static readonly string[] FrameworkPrefixes = ["Logging__", "Kestrel__", "ASPNETCORE_", "DOTNET_", "Kafka__Client__"];

    [Fact]
    public void Every_manifest_parses_and_every_kubernetes_object_names_its_kind_and_namespace()
    {
        var objects = KubernetesObjects().ToList();
        Assert.True(objects.Count >= 18, $"{objects.Count} objects");
        foreach (var (file, o) in objects)
        {
            Assert.False(string.IsNullOrEmpty(Scalar(o, "apiVersion")), $"{file}: apiVersion");
            var kind = Scalar(o, "kind");
            Assert.False(string.IsNullOrEmpty(kind), $"{file}: kind");
            Assert.False(string.IsNullOrEmpty(Scalar(o, "metadata", "name")), $"{file}: metadata.name");
            if (kind != "Namespace")
            {
                Assert.Equal("auditpipeline", Scalar(o, "metadata", "namespace"));
            }
        }
        Assert.NotNull(Load(Path.Combine(Production, "compose.yaml")));
    }

    [Fact]
    public void Every_setting_the_deployment_passes_exists_in_the_code()
    {
        var known = KnownSettings();
        var used = new List<(string Where, string Key)>();
        var compose = (YamlMappingNode)Load(Path.Combine(Production, "compose.yaml")).Documents[0].RootNode;
        foreach (var (name, service) in Map(compose, "services"))
        {
            if (Scalar(service, "image") is not { } image || !image.StartsWith("auditpipeline", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var (key, _) in Map(service, "environment"))
            {
                used.Add(($"compose {name} environment", key));
            }
            foreach (var target in Seq(service, "secrets").Select(s => Scalar(s, "target")).OfType<string>().Where(t => t.StartsWith("/run/secrets/auditpipeline/", StringComparison.Ordinal)))
            {
                used.Add(($"compose {name} secret", Path.GetFileName(target)));
            }
        }
        foreach (var (file, o) in KubernetesObjects())
        {
            var kind = Scalar(o, "kind");
            var name = Scalar(o, "metadata", "name");
            if (kind == "ConfigMap" && name == "auditpipeline-config")
            {
                used.AddRange(Map(o, "data").Select(d => ($"{file} ConfigMap", d.Key)));
            }
            if (kind == "Secret" && name == "auditpipeline-secrets")
            {
                // db-<role> keys are per-workload credentials, mounted under the setting's name (checked below).
                used.AddRange(Map(o, "stringData").Where(d => !d.Key.StartsWith("db-", StringComparison.Ordinal)).Select(d => ($"{file} Secret", d.Key)));
            }
            foreach (var container in Containers(o).Where(c => Scalar(c, "image")?.StartsWith("auditpipeline", StringComparison.Ordinal) == true))
            {
                used.AddRange(Seq(container, "env").Select(e => ($"{file} {name} env", Scalar(e, "name")!)));
            }
        }
        Assert.True(used.Count > 40, $"{used.Count} settings found");
        var unknown = used.Where(u => !FrameworkPrefixes.Any(p => u.Key.StartsWith(p, StringComparison.Ordinal)) && !known.Contains(u.Key))
            .Select(u => $"{u.Where}: {u.Key}").Distinct().ToList();
        Assert.True(unknown.Count == 0, "settings the code does not have:\n" + string.Join("\n", unknown));
    }

    [Fact]
    public void Every_secret_and_config_map_a_workload_uses_is_declared_and_only_the_signers_get_the_signing_key()
    {
        var objects = KubernetesObjects().Select(x => x.Object).ToList();
        var secrets = objects.Where(o => Scalar(o, "kind") == "Secret").Select(o => Scalar(o, "metadata", "name")).ToHashSet();
        var maps = objects.Where(o => Scalar(o, "kind") == "ConfigMap").Select(o => Scalar(o, "metadata", "name")).ToHashSet();
        var claims = objects.Where(o => Scalar(o, "kind") == "PersistentVolumeClaim").Select(o => Scalar(o, "metadata", "name")).ToHashSet();
        var signers = new List<string>();
        foreach (var o in objects)
        {
            var yaml = Render(o);
            foreach (Match m in SecretName().Matches(yaml))
            {
                Assert.Contains(m.Groups[1].Value, secrets);
            }
            foreach (Match m in ConfigMapName().Matches(yaml))
            {
                Assert.Contains(m.Groups[1].Value, maps);
            }
            foreach (Match m in ClaimName().Matches(yaml))
            {
                Assert.Contains(m.Groups[1].Value, claims);
            }
            if (Scalar(o, "kind") == "Deployment" && yaml.Contains("Integrity__SigningKeyPem", StringComparison.Ordinal))
            {
                signers.Add(Scalar(o, "metadata", "name")!);
            }
        }
        Assert.Equal(["projections", "query-api"], signers.Order());

        var compose = (YamlMappingNode)Load(Path.Combine(Production, "compose.yaml")).Documents[0].RootNode;
        var declared = Map(compose, "secrets").Select(s => s.Key).ToHashSet();
        foreach (var (name, service) in Map(compose, "services"))
        {
            foreach (var s in Seq(service, "secrets"))
            {
                var source = s is YamlScalarNode plain ? plain.Value! : Scalar(s, "source")!;
                Assert.True(declared.Contains(source), $"compose {name} uses undeclared secret {source}");
            }
            Assert.DoesNotContain("Password=", Render(service), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Each_workload_mounts_only_its_own_database_credential()
    {
        // Kubernetes: which db-<role> keys of the secret each workload mounts (as Store__ConnectionString).
        var expectedK8s = new Dictionary<string, string[]>
        {
            ["ingest"] = ["ingest"], ["projections"] = ["projector"], ["detectors"] = ["detector"], ["query-api"] = ["api"],
            ["migrate"] = [], ["checkpoint-verify"] = ["ops"], ["retention-run"] = ["ops"],
        };
        var seen = new Dictionary<string, string[]>();
        foreach (var (_, o) in KubernetesObjects())
        {
            if (Scalar(o, "kind") is not ("Deployment" or "Job" or "CronJob"))
            {
                continue;
            }
            var mounted = SecretItems(o).Where(i => i.Path == "Store__ConnectionString").Select(i => i.Key).ToList();
            Assert.DoesNotContain("Store__ConnectionString", mounted);
            seen[Scalar(o, "metadata", "name")!] = [.. mounted.Where(k => k.StartsWith("db-", StringComparison.Ordinal)).Select(k => k[3..]).Distinct().Order()];
        }
        Assert.Equal(expectedK8s.Keys.Order(), seen.Keys.Order());
        foreach (var (workload, roles) in expectedK8s)
        {
            Assert.True(roles.SequenceEqual(seen[workload]), $"{workload} mounts [{string.Join(", ", seen[workload])}], expected [{string.Join(", ", roles)}]");
        }

        // Compose: the secret mounted as Store__ConnectionString is the service's own.
        var expectedCompose = new Dictionary<string, string?>
        {
            ["ingest"] = "db-ingest", ["projections"] = "db-projector", ["detectors"] = "db-detector", ["query-api"] = "db-api", ["migrate"] = null,
        };
        var compose = (YamlMappingNode)Load(Path.Combine(Production, "compose.yaml")).Documents[0].RootNode;
        foreach (var (name, service) in Map(compose, "services"))
        {
            if (Scalar(service, "image") is not { } image || !image.StartsWith("auditpipeline", StringComparison.Ordinal))
            {
                continue;
            }
            var credentials = Seq(service, "secrets").Where(x => Scalar(x, "target") == "/run/secrets/auditpipeline/Store__ConnectionString").Select(x => Scalar(x, "source")).ToList();
            Assert.True(expectedCompose.ContainsKey(name), $"compose service {name} is not expected");
            Assert.Equal(expectedCompose[name] is { } own ? [own] : [], credentials);
        }
    }

    [Fact]
    public void The_nightly_checkpoint_verify_pins_keys_from_its_own_config_map_not_from_the_checkpoint_volume()
    {
        var objects = KubernetesObjects().Select(x => x.Object).ToList();
        var job = objects.Single(o => Scalar(o, "kind") == "CronJob" && Scalar(o, "metadata", "name") == "checkpoint-verify");
        var container = Assert.Single(Containers(job));
        var args = Seq(container, "args").Select(a => ((YamlScalarNode)a).Value!).ToList();
        Assert.Equal(["auditctl", "checkpoint", "verify"], args.Take(3));
        Assert.DoesNotContain("--accept-self-signed", args);
        Assert.Contains("--trusted-key", args);
        var trustedPath = args[args.IndexOf("--trusted-key") + 1];
        var checkedPath = args[args.IndexOf("--dir") + 1];
        var mounts = Seq(container, "volumeMounts").ToDictionary(m => Scalar(m, "mountPath")!, m => Scalar(m, "name")!);
        var volumes = Seq(Node(job, "spec", "jobTemplate", "spec", "template", "spec")!, "volumes").ToDictionary(v => Scalar(v, "name")!);
        // The keys come from a ConfigMap of their own, mounted apart from the folder being checked.
        Assert.Equal("checkpoint-trusted-keys", Scalar(volumes[mounts[trustedPath]], "configMap", "name"));
        Assert.False(trustedPath.StartsWith(checkedPath.TrimEnd('/') + "/", StringComparison.Ordinal) || trustedPath == checkedPath, $"{trustedPath} is inside {checkedPath}");
        Assert.Equal("checkpoints", Scalar(volumes[mounts[checkedPath]], "persistentVolumeClaim", "claimName"));
        Assert.Contains(objects, o => Scalar(o, "kind") == "ConfigMap" && Scalar(o, "metadata", "name") == "checkpoint-trusted-keys");
    }

    [Fact]
    public void The_image_starts_processes_that_are_built_and_scaling_matches_the_design()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Production, "Dockerfile"));
        var entrypoint = File.ReadAllText(Path.Combine(Production, "entrypoint.sh"));
        Assert.DoesNotContain("librdkafka-dev", dockerfile);
        foreach (var (project, dll) in new[]
                 {
                     ("ingest/AuditPipeline.Ingest", "AuditPipeline.Ingest.dll"), ("projections/AuditPipeline.ProjectionService", "AuditPipeline.ProjectionService.dll"),
                     ("detectors/AuditPipeline.DetectorService", "AuditPipeline.DetectorService.dll"), ("query-api/AuditPipeline.QueryApi", "AuditPipeline.QueryApi.dll"),
                     ("cli/auditctl", "auditctl.dll"),
                 })
        {
            Assert.Contains(project, dockerfile);
            Assert.Contains($"/app/{Path.GetFileName(project)}/{dll}", entrypoint);
            Assert.True(File.Exists(RepoPaths.Built(project, dll)), $"{project} builds {dll}");
            // The image installs no librdkafka: the one KafkaNative loads must ship with the process.
            Assert.True(File.Exists(RepoPaths.Built(project, "runtimes/linux-x64/native/centos8-librdkafka.so")), $"{project} ships librdkafka");
        }
        var replicas = KubernetesObjects().Select(x => x.Object).Where(o => Scalar(o, "kind") == "Deployment")
            .ToDictionary(o => Scalar(o, "metadata", "name")!, o => int.Parse(Scalar(o, "spec", "replicas")!, System.Globalization.CultureInfo.InvariantCulture));
        // One active instance per subscription, one standby; ingest bounded by the 48 partitions the compose file creates.
        Assert.Equal(2, replicas["projections"]);
        Assert.Equal(2, replicas["detectors"]);
        Assert.InRange(replicas["ingest"], 1, 48);
        Assert.Contains("agent-actions:48", File.ReadAllText(Path.Combine(Production, "compose.yaml")));
    }

    [Fact]
    public void The_clickhouse_cluster_ddl_replicates_and_distributes_every_single_server_table()
    {
        var single = Directory.GetFiles(Path.Combine(RepoPaths.Root, "projections", "AuditPipeline.ClickHouse", "Ddl"), "*.sql")
            .SelectMany(f => CreatedObject().Matches(File.ReadAllText(f)).Select(m => m.Groups[2].Value)).ToList();
        Assert.Equal(3, single.Count);
        var cluster = string.Join("\n", Directory.GetFiles(Path.Combine(Production, "clickhouse-cluster"), "*.sql").Select(File.ReadAllText));
        var creates = CreatedObject().Matches(cluster).ToList();
        Assert.All(creates, m => Assert.Contains("ON CLUSTER", m.Value));
        foreach (var table in single)
        {
            var distributed = new Regex($@"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER \w+ AS {table}_local\s+ENGINE = Distributed\(");
            Assert.Matches(distributed, cluster);
            Assert.Matches(new Regex($@"CREATE TABLE IF NOT EXISTS {table}_local ON CLUSTER [^;]*ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{{shard\}}/{table}_local', '\{{replica\}}'\)"), cluster);
        }
        // The cluster's agent_actions has exactly the single server's columns (the projector writes RowBinary in that order).
        static string Columns(string sql, string table) =>
            Regex.Replace(Regex.Match(sql, $@"CREATE TABLE IF NOT EXISTS {table}\b[^(]*\((?<cols>[^)]*)\)").Groups["cols"].Value, @"\s+", " ").Trim();
        var singleActions = File.ReadAllText(Path.Combine(RepoPaths.Root, "projections", "AuditPipeline.ClickHouse", "Ddl", "0001_agent_actions.sql"));
        Assert.NotEmpty(Columns(singleActions, "agent_actions"));
        Assert.Equal(Columns(singleActions, "agent_actions"), Columns(cluster, "agent_actions_local"));
    }

    /// <summary>Section__Key for every public settable property of every options class (read from the sources).</summary>
    private static HashSet<string> KnownSettings()
    {
        var known = new HashSet<string>(StringComparer.Ordinal) { "AUDITPIPELINE_SECRETS_DIR" };
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Root, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/tests/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            foreach (Match c in OptionsClass().Matches(text))
            {
                var section = c.Groups["section"].Value;
                var body = c.Groups["body"].Value;
                foreach (Match p in SettableProperty().Matches(body))
                {
                    known.Add($"{section}__{p.Groups[1].Value}");
                }
            }
        }
        Assert.Contains("Store__ConnectionString", known);
        Assert.Contains("Integrity__SigningKeyPem", known);
        Assert.Contains("QueryApi__ExportDirectory", known);
        return known;
    }

    private static IEnumerable<(string File, YamlMappingNode Object)> KubernetesObjects() =>
        Directory.GetFiles(Path.Combine(Production, "k8s"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(f => Load(f).Documents.Select(d => (Path.GetFileName(f), (YamlMappingNode)d.RootNode)));

    private static YamlStream Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream;
    }

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode o)
    {
        var spec = Node(o, "spec", "template", "spec") ?? Node(o, "spec", "jobTemplate", "spec", "template", "spec");
        return spec is YamlMappingNode s ? Seq(s, "containers").OfType<YamlMappingNode>() : [];
    }

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !Effective(map).TryGetValue(key, out var next))
            {
                return null;
            }
            node = next;
        }
        return node;
    }

    /// <summary>A mapping's keys as Compose reads them: merge keys (&lt;&lt;: *anchor) first, its own keys over them.</summary>
    private static Dictionary<string, YamlNode> Effective(YamlMappingNode map)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        if (map.Children.TryGetValue(new YamlScalarNode("<<"), out var merged))
        {
            foreach (var source in merged is YamlSequenceNode many ? many.Children : [merged])
            {
                foreach (var (key, value) in Effective((YamlMappingNode)source))
                {
                    result[key] = value;
                }
            }
        }
        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (name != "<<")
            {
                result[name] = value;
            }
        }
        return result;
    }

    private static string? Scalar(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static IEnumerable<(string Key, YamlNode Value)> Map(YamlNode node, params string[] path) =>
        Node(node, path) is YamlMappingNode map ? Effective(map).Select(c => (c.Key, c.Value)) : [];

    private static IEnumerable<YamlNode> Seq(YamlNode node, params string[] path) => Node(node, path) is YamlSequenceNode seq ? seq.Children : [];

    /// <summary>Every secret item (key → path) anywhere under a node.</summary>
    private static IEnumerable<(string Key, string Path)> SecretItems(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                if (map.Children.TryGetValue(new YamlScalarNode("key"), out var k) && map.Children.TryGetValue(new YamlScalarNode("path"), out var p)
                    && k is YamlScalarNode key && p is YamlScalarNode path)
                {
                    yield return (key.Value!, path.Value!);
                }
                foreach (var child in map.Children.Values.SelectMany(SecretItems))
                {
                    yield return child;
                }
                break;
            case YamlSequenceNode seq:
                foreach (var child in seq.Children.SelectMany(SecretItems))
                {
                    yield return child;
                }
                break;
        }
    }

    private static string Render(YamlNode node)
    {
        var stream = new YamlStream(new YamlDocument(node));
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static Regex SecretName() => new(@"(?:secretName|secretKeyRef:\s*\n?\s*name):\s*([a-z0-9-]+)");

    [GeneratedRegex(@"configMapRef:\s*\n?\s*name:\s*([a-z0-9-]+)")]
    private static partial Regex ConfigMapName();

    [GeneratedRegex(@"claimName:\s*([a-z0-9-]+)")]
    private static partial Regex ClaimName();

    [GeneratedRegex(@"CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)[^;]*", RegexOptions.Singleline)]
    private static partial Regex CreatedObject();

    [GeneratedRegex(@"public const string Section = ""(?<section>\w+)"";(?<body>.*?)(?=\npublic |\z)", RegexOptions.Singleline)]
    private static partial Regex OptionsClass();

    [GeneratedRegex(@"public [\w<>?,\[\] ]+ (\w+) \{ get; set; \}")]
    private static partial Regex SettableProperty();
}
