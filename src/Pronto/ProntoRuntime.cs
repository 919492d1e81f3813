using Microsoft.Extensions.AI;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Onnx;

namespace Pronto;

/// <summary>
/// Pronto in-process: one model repository (Triton layout) with the ONNX Runtime backend, and the
/// <see cref="InferenceService"/> the server runs, so a prediction here goes through the same validation,
/// batching and processing (text, fields, image in; embedding, classification out) as one over REST or gRPC.
/// </summary>
/// <remarks>Ownership: the runtime owns the repository and every loaded model; disposing it unloads them.</remarks>
public sealed class ProntoRuntime : IProntoModels
{
    private readonly LocalInference _inference;

    private ProntoRuntime(ModelRepository repository, TimeProvider? time)
    {
        Repository = repository;
        Service = new InferenceService(repository, time);
        _inference = new LocalInference(this);
    }

    /// <summary>The repository the runtime serves from (load, unload, index).</summary>
    public ModelRepository Repository { get; }

    /// <summary>The protocol-level service: <see cref="InferenceRequest"/> in, <see cref="InferenceResponse"/> out.</summary>
    public InferenceService Service { get; }

    /// <summary>Opens the repository folder at <paramref name="repositoryFolder"/>; no model is loaded yet.</summary>
    public static ProntoRuntime Open(string repositoryFolder, OnnxBackendOptions? onnx = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(repositoryFolder);
        if (!Directory.Exists(repositoryFolder))
        {
            ProntoErrors.NotFound($"model repository '{repositoryFolder}' does not exist");
        }

        return new ProntoRuntime(new ModelRepository(repositoryFolder, [new OnnxBackend(onnx ?? new OnnxBackendOptions())], time: time), time);
    }

    /// <summary>Loads <paramref name="model"/> (every version its config serves); a no-op when it is ready already.</summary>
    public void Load(string model) => Repository.Load(model);

    /// <summary>One protocol request, exactly as the server's infer endpoints run it.</summary>
    public Task<InferenceResponse> PredictAsync(InferenceRequest request, CancellationToken cancellationToken = default) =>
        Service.InferAsync(request, cancellationToken);

    /// <summary>
    /// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a text-embedding model (pronto.prepare text,
    /// pronto.produce embedding, e.g. minilm), loading it first.
    /// </summary>
    public IEmbeddingGenerator<string, Embedding<float>> GetEmbeddingGenerator(string model)
    {
        Load(model);
        var processing = ProntoModel.Processing(this, model, ["text"], "embedding", "a text-embedding model");
        return new ProntoEmbeddingGenerator(_inference, this, model, processing.Producer!.Dims);
    }

    /// <summary>A typed classifier over a classification model (fields or text in, e.g. fraud), loading it first.</summary>
    public ProntoClassifier GetClassifier(string model)
    {
        Load(model);
        var processing = ProntoModel.Processing(this, model, ["fields", "text"], "probabilities", "a classifier");
        return new ProntoClassifier(_inference, model, processing.Preparer!.InputName, [.. processing.GetLabels("probabilities") ?? []]);
    }

    /// <summary>
    /// An <see cref="IChatClient"/> over a generative model with a chat template (config.pbtxt
    /// <c>pronto.generative: "true"</c>), loading it first.
    /// </summary>
    public IChatClient GetChatClient(string model)
    {
        Load(model);
        return new ProntoChatClient(this, model);
    }

    public void Dispose() => Repository.Dispose();
}
