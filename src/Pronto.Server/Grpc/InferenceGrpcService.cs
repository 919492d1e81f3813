using System.Diagnostics;
using Grpc.Core;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Server.Grpc.Protocol;
using Pronto.Server.Metrics;

namespace Pronto.Server.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: the Open Inference Protocol v2 over gRPC, the twin of the REST routes
/// (<see cref="Http.RestEndpoints"/>) over the same core. Errors leave as <see cref="ProntoException"/> and are
/// mapped once by <see cref="GrpcErrorInterceptor"/>; credentials are checked by <see cref="GrpcAuthInterceptor"/>.
/// </summary>
internal sealed class InferenceGrpcService(
    InferenceService service,
    ModelRepository repository,
    ServerState state,
    ServerMetrics metrics,
    ProntoServerOptions options) : GRPCInferenceService.GRPCInferenceServiceBase
{
    private static readonly Task<ServerLiveResponse> Live = Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) => Live;

    /// <summary>Triton's strict readiness: the start-up load has finished, every model is ready, and the server is not stopping.</summary>
    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = state.ModelsLoaded && !state.Draining && repository.AllReady() });

    /// <summary>True when ready or loading on the request (scale to zero); false when the model exists but cannot serve; NOT_FOUND when unknown.</summary>
    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        if (repository.IsServable(request.Name, request.Version))
        {
            return Task.FromResult(new ModelReadyResponse { Ready = true });
        }

        try
        {
            using var lease = repository.Acquire(request.Name, request.Version);
            return Task.FromResult(new ModelReadyResponse { Ready = true });
        }
        catch (ProntoException e) when (e.Code == ErrorCode.Unavailable)
        {
            return Task.FromResult(new ModelReadyResponse { Ready = false });
        }
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(GrpcModelMessages.ServerMetadata());

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        using var lease = repository.Acquire(request.Name, request.Version);
        return Task.FromResult(GrpcModelMessages.ModelMetadata(lease.Model, repository.Index()));
    }

    /// <summary>Hot path: decode (raw inputs are views of the request), infer, encode (raw outputs wrap the tensors).</summary>
    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var inference = GrpcInferCodec.ReadRequest(request, options.MaxTensorElements);
        var response = await service.InferAsync(inference, context.CancellationToken);
        var reply = GrpcInferCodec.WriteResponse(response);
        metrics.ObserveRequest(response.ModelName, "grpc", started);
        return reply;
    }

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context)
    {
        using var lease = repository.Acquire(request.Name, request.Version);
        return Task.FromResult(new ModelConfigResponse { Config = GrpcModelMessages.Config(lease.Model.Config) });
    }

    /// <summary>No name: every ready model; a name: its ready versions; a name and version: that version.</summary>
    public override Task<ModelStatisticsResponse> ModelStatistics(ModelStatisticsRequest request, ServerCallContext context)
    {
        IReadOnlyList<ServedModel> models;
        if (request.Name.Length == 0)
        {
            models = repository.ReadyModels();
        }
        else
        {
            using var lease = repository.Acquire(request.Name, request.Version);
            models = request.Version.Length == 0 ? [.. repository.ReadyModels().Where(m => m.Name == request.Name)] : [lease.Model];
        }

        return Task.FromResult(GrpcModelMessages.Statistics(models, options.PricePerCpuHour));
    }

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context) =>
        Task.FromResult(GrpcModelMessages.Index(repository.Index(), request.Ready));

    /// <summary>Loads from the repository only: Triton's config and file overrides are refused, not ignored.</summary>
    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        if (request.Parameters.Count > 0)
        {
            ProntoErrors.Unsupported("load parameters (config, file:...) are not supported; Pronto loads models from the repository folder as they are");
        }

        repository.ModelDirectory(request.ModelName);

        // Loading reads files and builds sessions for seconds: off the request thread, as REST does.
        await Task.Run(() => repository.Load(request.ModelName, context.CancellationToken), context.CancellationToken);
        return new RepositoryModelLoadResponse();
    }

    public override Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        repository.ModelDirectory(request.ModelName);
        repository.Unload(request.ModelName);
        return Task.FromResult(new RepositoryModelUnloadResponse());
    }
}
