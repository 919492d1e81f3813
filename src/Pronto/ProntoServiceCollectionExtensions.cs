using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Onnx;

namespace Pronto;

/// <summary>What <see cref="ProntoServiceCollectionExtensions.AddPronto"/> registers.</summary>
public sealed class ProntoOptions
{
    /// <summary>The model repository folder (Triton layout). Required.</summary>
    public string? RepositoryPath { get; set; }

    /// <summary>A text-embedding model to serve as <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, or null for none.</summary>
    public string? EmbeddingModel { get; set; }

    /// <summary>ONNX Runtime settings (threads); the defaults when null.</summary>
    public OnnxBackendOptions? Onnx { get; set; }
}

public static class ProntoServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ProntoRuntime"/> over <see cref="ProntoOptions.RepositoryPath"/> and, when
    /// <see cref="ProntoOptions.EmbeddingModel"/> is set, <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> over it.
    /// The runtime opens on first use and the container disposes it.
    /// </summary>
    public static IServiceCollection AddPronto(this IServiceCollection services, Action<ProntoOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ProntoOptions();
        configure(options);
        if (string.IsNullOrEmpty(options.RepositoryPath))
        {
            throw new ArgumentException("ProntoOptions.RepositoryPath is required: the model repository folder", nameof(configure));
        }

        services.AddSingleton(_ => ProntoRuntime.Open(options.RepositoryPath, options.Onnx));
        if (options.EmbeddingModel is { } model)
        {
            services.AddSingleton(sp => sp.GetRequiredService<ProntoRuntime>().GetEmbeddingGenerator(model));
        }

        return services;
    }
}
