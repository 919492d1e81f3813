using System.Text;
using Microsoft.Extensions.AI;

namespace Pronto;

/// <summary>
/// Microsoft.Extensions.AI's embedding generator over a Pronto text-embedding model: the texts go to the model's
/// <c>text</c> input as one request (one batch), and each row of its <c>embedding</c> output (pooled and
/// normalized as the model's config says) is one <see cref="Embedding{T}"/>, in the order given.
/// </summary>
public sealed class ProntoEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ProntoInference _inference;
    private readonly object _owner;
    private readonly string _model;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <param name="owner">The <see cref="ProntoRuntime"/> or <see cref="Remote.ProntoClient"/> it came from (GetService gives it back).</param>
    internal ProntoEmbeddingGenerator(ProntoInference inference, object owner, string model, IReadOnlyList<long> dims, Uri? server = null)
    {
        _inference = inference;
        _owner = owner;
        _model = model;
        _metadata = new EmbeddingGeneratorMetadata("pronto", server, model, dims.Count > 0 && dims[^1] > 0 ? (int)dims[^1] : null);
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

        var (model, vectors) = await _inference.RunAsync(options?.ModelId ?? _model, "text", items, "embedding", cancellationToken).ConfigureAwait(false);
        var all = vectors.AsSpan();
        var dim = all.Length / texts.Count;
        var created = DateTimeOffset.UtcNow;
        for (var i = 0; i < texts.Count; i++)
        {
            result.Add(new Embedding<float>(all.Slice(i * dim, dim).ToArray()) { ModelId = model, CreatedAt = created });
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(_owner) ? _owner
        : null;

    /// <summary>Nothing to release: the runtime (or client) it came from owns the model (or connection).</summary>
    public void Dispose()
    {
    }
}
