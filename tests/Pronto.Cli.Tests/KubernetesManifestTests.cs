using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Pronto.Server;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// deploy/kubernetes checked without a cluster: every manifest parses with a known kind, the server's settings bind
/// to <see cref="ProntoServerOptions"/>, the containers' args parse as <c>pronto</c> commands, and the parts that
/// decide whether a rollout, a drain or an autoscaler works point at what the server really serves.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly HashSet<(string ApiVersion, string Kind)> Known =
    [
        ("v1", "ConfigMap"), ("v1", "Service"), ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"),
        ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"), ("batch/v1", "Job"),
        ("keda.sh/v1alpha1", "ScaledObject"), ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
    ];

    [Fact]
    public void Every_manifest_parses_with_a_known_kind_and_a_name()
    {
        var files = KubernetesManifests.Files();
        Assert.Equal(
            ["autoscaling/hpa.yaml", "autoscaling/keda-scaledobject.yaml", "batch/data-pvc.yaml", "batch/merge-job.yaml", "batch/score-job.yaml", "configmap.yaml", "deployment.yaml", "kustomization.yaml", "pdb.yaml", "service.yaml"],
            files);
        foreach (var file in files)
        {
            var document = Assert.Single(KubernetesManifests.Load(file));
            var type = (document.GetProperty("apiVersion").GetString()!, document.GetProperty("kind").GetString()!);
            Assert.True(Known.Contains(type), $"{file}: unexpected {type}");
            if (type.Item2 != "Kustomization")
            {
                Assert.False(string.IsNullOrEmpty(document.GetProperty("metadata").GetProperty("name").GetString()), file);
            }
        }

        // The kustomization applies the server with one autoscaler (the HPA), never both HPA and KEDA.
        var resources = KubernetesManifests.Single("kustomization.yaml", "Kustomization").GetProperty("resources").EnumerateArray().Select(r => r.GetString()!).ToArray();
        Assert.Equal(["configmap.yaml", "deployment.yaml", "service.yaml", "pdb.yaml", "autoscaling/hpa.yaml"], resources);
    }

    [Fact]
    public void The_deployment_probes_the_OIP_health_routes_drains_on_stop_and_its_settings_bind()
    {
        var deployment = KubernetesManifests.Single("deployment.yaml", "Deployment");
        var pod = deployment.GetProperty("spec").GetProperty("template");
        var labels = Labels(pod.GetProperty("metadata").GetProperty("labels"));
        Assert.Equal(labels, Labels(deployment.GetProperty("spec").GetProperty("selector").GetProperty("matchLabels")));
        var container = Assert.Single(pod.GetProperty("spec").GetProperty("containers").EnumerateArray());

        // Settings: the ConfigMap's keys are ProntoServerOptions' (unknown ones fail the bind) and the ports agree.
        var settings = KubernetesManifests.Single("configmap.yaml", "ConfigMap").GetProperty("data").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString());
        Assert.Equal("pronto-settings", Assert.Single(container.GetProperty("envFrom").EnumerateArray()).GetProperty("configMapRef").GetProperty("name").GetString());
        var options = new ConfigurationBuilder().AddInMemoryCollection(settings).Build()
            .GetSection(ProntoServerOptions.Section).Get<ProntoServerOptions>(b => b.ErrorOnUnknownConfiguration = true)!;
        Assert.Equal("0.0.0.0", options.Host);
        var ports = container.GetProperty("ports").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => int.Parse(p.GetProperty("containerPort").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(new Dictionary<string, int> { ["http"] = options.HttpPort, ["grpc"] = options.GrpcPort }, ports);

        // Probes: readiness and start-up on /v2/health/ready, liveness on /v2/health/live, on the REST port.
        Assert.Equal(("/v2/health/ready", "http"), Probe(container, "startupProbe"));
        Assert.Equal(("/v2/health/ready", "http"), Probe(container, "readinessProbe"));
        Assert.Equal(("/v2/health/live", "http"), Probe(container, "livenessProbe"));

        // Drain: the preStop pause and the server's shutdown timeout fit in the grace period.
        var preStop = container.GetProperty("lifecycle").GetProperty("preStop").GetProperty("exec").GetProperty("command").EnumerateArray().Select(c => c.GetString()!).ToArray();
        Assert.Equal("sleep", preStop[0]);
        var grace = int.Parse(pod.GetProperty("spec").GetProperty("terminationGracePeriodSeconds").GetString()!, CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(25), options.ShutdownTimeout);
        Assert.True(int.Parse(preStop[1], CultureInfo.InvariantCulture) + options.ShutdownTimeout.TotalSeconds < grace, $"preStop {preStop[1]} s + drain {options.ShutdownTimeout} must fit in {grace} s");

        var requests = container.GetProperty("resources").GetProperty("requests");
        Assert.Equal("2", requests.GetProperty("cpu").GetString());
        Assert.Equal("2Gi", requests.GetProperty("memory").GetString());
        Assert.Equal(["serve"], KubernetesManifests.Args(container, new Dictionary<string, string>()));
        AssertParses(["serve"]);

        // The Service and the PDB select the pods; the Service's named target ports exist on the container.
        var service = KubernetesManifests.Single("service.yaml", "Service").GetProperty("spec");
        Assert.Equal(labels, Labels(service.GetProperty("selector")));
        Assert.Equal(
            [("http", "8000", "http"), ("grpc", "8001", "grpc")],
            service.GetProperty("ports").EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("port").GetString(), p.GetProperty("targetPort").GetString())).ToArray());
        Assert.Equal(labels, Labels(KubernetesManifests.Single("pdb.yaml", "PodDisruptionBudget").GetProperty("spec").GetProperty("selector").GetProperty("matchLabels")));
    }

    [Fact]
    public void The_autoscalers_target_the_deployment_on_the_in_flight_metric_with_bounds()
    {
        var hpa = KubernetesManifests.Single("autoscaling/hpa.yaml", "HorizontalPodAutoscaler").GetProperty("spec");
        Assert.Equal(("Deployment", "pronto"), Target(hpa));
        Assert.Equal(("2", "10"), (hpa.GetProperty("minReplicas").GetString(), hpa.GetProperty("maxReplicas").GetString()));
        var metric = Assert.Single(hpa.GetProperty("metrics").EnumerateArray());
        Assert.Equal("Pods", metric.GetProperty("type").GetString());
        Assert.Equal("nv_inference_pending_request_count", metric.GetProperty("pods").GetProperty("metric").GetProperty("name").GetString());

        var keda = KubernetesManifests.Single("autoscaling/keda-scaledobject.yaml", "ScaledObject").GetProperty("spec");
        Assert.Equal(("Deployment", "pronto"), Target(keda));
        Assert.Equal(("0", "10"), (keda.GetProperty("minReplicaCount").GetString(), keda.GetProperty("maxReplicaCount").GetString()));
        var queries = keda.GetProperty("triggers").EnumerateArray().Select(t => (t.GetProperty("type").GetString(), t.GetProperty("metadata").GetProperty("query").GetString()!)).ToArray();
        Assert.All(queries, q => Assert.Equal("prometheus", q.Item1));
        Assert.Contains(queries, q => q.Item2.StartsWith("sum(nv_inference_pending_request_count{", StringComparison.Ordinal));
    }

    [Fact]
    public void The_indexed_job_shards_by_completion_index_and_the_merge_parses()
    {
        var job = KubernetesManifests.Single("batch/score-job.yaml", "Job").GetProperty("spec");
        Assert.Equal("Indexed", job.GetProperty("completionMode").GetString());
        var n = job.GetProperty("completions").GetString()!;
        Assert.Equal(n, job.GetProperty("parallelism").GetString());
        var container = Assert.Single(job.GetProperty("template").GetProperty("spec").GetProperty("containers").EnumerateArray());
        var shardVariable = Assert.Single(container.GetProperty("env").EnumerateArray());
        Assert.Equal("SHARD", shardVariable.GetProperty("name").GetString());
        Assert.Equal("metadata.annotations['batch.kubernetes.io/job-completion-index']", shardVariable.GetProperty("valueFrom").GetProperty("fieldRef").GetProperty("fieldPath").GetString());

        var args = KubernetesManifests.Args(container, new Dictionary<string, string> { ["SHARD"] = "3" });
        Assert.Equal("3/" + n, args[Array.IndexOf(args, "--shard") + 1]);
        Assert.Contains("--resume", args);
        AssertParses(args);

        var merge = Assert.Single(KubernetesManifests.Single("batch/merge-job.yaml", "Job").GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers").EnumerateArray());
        AssertParses(KubernetesManifests.Args(merge, new Dictionary<string, string>()));
    }

    [Fact]
    public void The_args_check_refuses_what_pronto_does_not_know() =>
        Assert.Contains(ProntoCli.ParseErrors(["batch", "fraud", "--input", "/data/input/", "--output", "/data/scored/", "--shards", "1/4"]), e => e.Contains("'--shards'", StringComparison.Ordinal));

    /// <summary>The args parse as a <c>pronto</c> command line (no unknown command or option, no missing value).</summary>
    private static void AssertParses(string[] args) => Assert.True(ProntoCli.ParseErrors(args).Count == 0, $"pronto {string.Join(' ', args)}: {string.Join("; ", ProntoCli.ParseErrors(args))}");

    private static (string?, string?) Probe(JsonElement container, string probe)
    {
        var get = container.GetProperty(probe).GetProperty("httpGet");
        return (get.GetProperty("path").GetString(), get.GetProperty("port").GetString());
    }

    private static (string?, string?) Target(JsonElement spec)
    {
        var target = spec.GetProperty("scaleTargetRef");
        return (target.GetProperty("kind").GetString(), target.GetProperty("name").GetString());
    }

    private static Dictionary<string, string?> Labels(JsonElement labels) => labels.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
}
