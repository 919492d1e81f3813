using System.Text;
using Microsoft.Extensions.AI;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto;

/// <summary>
/// Microsoft.Extensions.AI's embedding generator over a Pronto text-embedding model: the texts go to the model's
/// <c>text</c> input as one request (one batch), and each row of its <c>embedding</c> output (pooled and
/// normalized as the model's config says) is one <see cref="Embedding{T}"/>, in the order given.
/// </summary>
public sealed class ProntoEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ProntoRuntime _runtime;
    private readonly string _model;
    private readonly EmbeddingGeneratorMetadata _metadata;

    internal ProntoEmbeddingGenerator(ProntoRuntime runtime, string model)
    {
        var processing = ProntoModel.Processing(runtime, model, ["text"], "embedding", "a text-embedding model");
        _runtime = runtime;
        _model = model;
        var dims = processing.Producer!.Dims;
        _metadata = new EmbeddingGeneratorMetadata("pronto", null, model, dims.Count > 0 && dims[^1] > 0 ? (int)dims[^1] : null);
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        if (texts.Count == 0)
        {
            return result;
        }

        var items = new ReadOnlyMemory<byte>[texts.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = Encoding.UTF8.GetBytes(texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(values)));
        }

        var response = await _runtime.PredictAsync(new InferenceRequest
        {
            ModelName = options?.ModelId ?? _model,
            Inputs = [new NamedTensor("text", Tensor.FromStrings(items, items.Length))],
        }, cancellationToken).ConfigureAwait(false);
        var embedding = response.Outputs[0].Tensor;
        var all = embedding.Span<float>();
        var dim = all.Length / texts.Count;
        var created = DateTimeOffset.UtcNow;
        for (var i = 0; i < texts.Count; i++)
        {
            result.Add(new Embedding<float>(all.Slice(i * dim, dim).ToArray()) { ModelId = response.ModelName, CreatedAt = created });
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(ProntoRuntime) ? _runtime
        : null;

    /// <summary>Nothing to release: the <see cref="ProntoRuntime"/> owns the model.</summary>
    public void Dispose()
    {
    }
}
