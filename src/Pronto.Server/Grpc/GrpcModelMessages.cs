using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Server.Grpc.Protocol;
using ConfigMessage = Pronto.Server.Grpc.Protocol.ModelConfig;
using ModelWarmup = Pronto.Server.Grpc.Protocol.ModelWarmup;
using ModelConfig = Pronto.Core.Configuration.ModelConfig;
using StatisticsMessage = Pronto.Server.Grpc.Protocol.ModelStatistics;

namespace Pronto.Server.Grpc;

/// <summary>
/// The gRPC messages of the metadata, config, statistics and repository-index responses: the same content as
/// REST's <see cref="Http.ModelJson"/>, in the protocol's protobuf messages.
/// </summary>
internal static class GrpcModelMessages
{
    public static ServerMetadataResponse ServerMetadata()
    {
        var response = new ServerMetadataResponse { Name = "pronto", Version = ServerInfo.Version };
        response.Extensions.Add(ServerInfo.Extensions);
        return response;
    }

    /// <summary>From the model's <see cref="ModelSignature"/>, as REST's metadata; shapes carry the batch dimension as -1.</summary>
    public static ModelMetadataResponse ModelMetadata(ServedModel model, IReadOnlyList<ModelVersionStatus> versions)
    {
        var config = model.Config;
        var response = new ModelMetadataResponse { Name = model.Name, Platform = config.Platform };
        foreach (var v in versions)
        {
            if (v.Name == model.Name && v.State == ModelState.Ready && v.Version is { } number)
            {
                response.Versions.Add(number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        AddTensors(response.Inputs, model.Signature.Inputs);
        AddTensors(response.Outputs, model.Signature.Outputs);
        return response;
    }

    /// <summary>The model config in Triton's protobuf form.</summary>
    public static ConfigMessage Config(ModelConfig config)
    {
        var message = new ConfigMessage
        {
            Name = config.Name,
            Platform = config.Platform,
            Backend = config.Backend ?? "onnxruntime",
            MaxBatchSize = config.MaxBatchSize,
            DefaultModelFilename = config.DefaultModelFilename ?? "",
            VersionPolicy = config.VersionPolicy.Kind switch
            {
                VersionPolicyKind.All => new ModelVersionPolicy { All = new ModelVersionPolicy.Types.All() },
                VersionPolicyKind.Specific => new ModelVersionPolicy { Specific = new ModelVersionPolicy.Types.Specific { Versions = { config.VersionPolicy.Versions } } },
                _ => new ModelVersionPolicy { Latest = new ModelVersionPolicy.Types.Latest { NumVersions = (uint)Math.Max(1, config.VersionPolicy.LatestCount) } },
            },
        };
        foreach (var t in config.Inputs)
        {
            message.Input.Add(new ModelInput { Name = t.Name, DataType = (Protocol.DataType)t.DataType, Dims = { t.Dims }, Optional = t.Optional });
        }

        foreach (var t in config.Outputs)
        {
            message.Output.Add(new ModelOutput { Name = t.Name, DataType = (Protocol.DataType)t.DataType, Dims = { t.Dims }, LabelFilename = t.LabelFilename ?? "" });
        }

        foreach (var g in config.InstanceGroups.Count > 0 ? config.InstanceGroups : [new InstanceGroup(1)])
        {
            message.InstanceGroup.Add(new ModelInstanceGroup
            {
                Count = g.Count,
                Kind = Enum.TryParse<ModelInstanceGroup.Types.Kind>(g.Kind.Replace("KIND_", "", StringComparison.Ordinal), ignoreCase: true, out var kind)
                    ? kind
                    : ModelInstanceGroup.Types.Kind.Cpu,
            });
        }

        if (config.DynamicBatching is { } batching)
        {
            message.DynamicBatching = new ModelDynamicBatching
            {
                PreferredBatchSize = { batching.PreferredBatchSize },
                MaxQueueDelayMicroseconds = (ulong)batching.MaxQueueDelayMicroseconds,
                PreserveOrdering = batching.PreserveOrdering,
                PriorityLevels = (ulong)batching.PriorityLevels,
                DefaultPriorityLevel = (ulong)batching.DefaultPriorityLevel,
                DefaultQueuePolicy = new ModelQueuePolicy
                {
                    TimeoutAction = batching.DefaultQueuePolicy.TimeoutAction == TimeoutAction.Delay
                        ? ModelQueuePolicy.Types.TimeoutAction.Delay
                        : ModelQueuePolicy.Types.TimeoutAction.Reject,
                    DefaultTimeoutMicroseconds = (ulong)batching.DefaultQueuePolicy.DefaultTimeoutMicroseconds,
                    AllowTimeoutOverride = batching.DefaultQueuePolicy.AllowTimeoutOverride,
                    MaxQueueSize = (uint)batching.DefaultQueuePolicy.MaxQueueSize,
                },
            };
        }

        foreach (var (key, value) in config.Parameters)
        {
            message.Parameters[key] = new ModelParameter { StringValue = value };
        }

        foreach (var sample in config.ModelWarmup)
        {
            var warmup = new ModelWarmup { Name = sample.Name, BatchSize = (uint)sample.BatchSize, Count = (uint)sample.Count };
            foreach (var input in sample.Inputs)
            {
                var entry = new ModelWarmup.Types.Input { DataType = (Protocol.DataType)input.DataType, Dims = { input.Dims } };
                switch (input.Data)
                {
                    case WarmupData.Random:
                        entry.RandomData = true;
                        break;
                    case WarmupData.File:
                        entry.InputDataFile = input.InputDataFile ?? "";
                        break;
                    default:
                        entry.ZeroData = true;
                        break;
                }

                warmup.Inputs[input.Name] = entry;
            }

            message.ModelWarmup.Add(warmup);
        }

        return message;
    }

    /// <summary>Triton's statistics, plus Pronto's cost fields (100 and up, which Triton's clients skip as unknown).</summary>
    public static ModelStatisticsResponse Statistics(IEnumerable<ServedModel> models, double pricePerCpuHour)
    {
        var response = new ModelStatisticsResponse();
        foreach (var model in models)
        {
            var s = model.Statistics.Snapshot();
            response.ModelStats.Add(new StatisticsMessage
            {
                Name = model.Name,
                Version = model.VersionText,
                LastInference = (ulong)s.LastInferenceMs,
                InferenceCount = (ulong)s.InferenceCount,
                ExecutionCount = (ulong)s.ExecutionCount,
                InferenceStats = new InferStatistics
                {
                    Success = Duration(s.Success),
                    Fail = Duration(s.Fail),
                    Queue = Duration(s.Queue),
                    ComputeInput = Duration(s.ComputeInput),
                    ComputeInfer = Duration(s.ComputeInfer),
                    ComputeOutput = Duration(s.ComputeOutput),
                    CacheHit = Duration(s.CacheHit),
                    CacheMiss = Duration(s.CacheMiss),
                },
                CostCpuSeconds = s.CostCpuSeconds,
                CostCpuSecondsPer1000Inferences = s.CostCpuSecondsPer1000Inferences,
                Cost = s.CostCpuSeconds * pricePerCpuHour / 3600,
            });
        }

        return response;
    }

    public static RepositoryIndexResponse Index(IEnumerable<ModelVersionStatus> rows, bool readyOnly)
    {
        var response = new RepositoryIndexResponse();
        foreach (var row in rows)
        {
            if (readyOnly && row.State != ModelState.Ready)
            {
                continue;
            }

            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
            {
                Name = row.Name,
                Version = row.Version is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
                State = row.State.ToProtocolName(),
                Reason = row.Reason,
            });
        }

        return response;
    }

    private static StatisticDuration Duration(DurationStatistic d) => new() { Count = (ulong)d.Count, Ns = (ulong)d.Ns };

    private static void AddTensors(Google.Protobuf.Collections.RepeatedField<ModelMetadataResponse.Types.TensorMetadata> target, IReadOnlyList<TensorSignature> tensors)
    {
        foreach (var t in tensors)
        {
            var tensor = new ModelMetadataResponse.Types.TensorMetadata { Name = t.Name, Datatype = t.DataType.ToProtocolName() };
            tensor.Shape.Add(t.Shape);
            target.Add(tensor);
        }
    }
}
