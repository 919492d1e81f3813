using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Server.Grpc.Protocol;
using ConfigMessage = Pronto.Core.Configuration.Protocol.ModelConfig;
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

    /// <summary>The model config in Triton's protobuf form: the same message config.pbtxt is read into and /config shows.</summary>
    public static ConfigMessage Config(ModelConfig config) => ModelConfigMessage.ToMessage(config, served: true);

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
