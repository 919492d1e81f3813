using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Onnx;

namespace Pronto;

/// <summary>Registers the models an application uses from the runtime <see cref="ProntoServiceCollectionExtensions.AddPronto"/> added.</summary>
public sealed class ProntoBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;

    /// <summary>
    /// <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> over a text-embedding model; keyed by
    /// <paramref name="key"/> when given (several embedding models in one container).
    /// </summary>
    public ProntoBuilder AddEmbeddingGenerator(string model, object? key = null)
    {
        if (key is null)
        {
            Services.AddSingleton(sp => sp.GetRequiredService<ProntoRuntime>().GetEmbeddingGenerator(model));
        }
        else
        {
            Services.AddKeyedSingleton(key, (sp, _) => sp.GetRequiredService<ProntoRuntime>().GetEmbeddingGenerator(model));
        }

        return this;
    }

    /// <summary>A <see cref="ProntoClassifier"/> over a classification model; keyed by <paramref name="key"/> when given.</summary>
    public ProntoBuilder AddClassifier(string model, object? key = null)
    {
        if (key is null)
        {
            Services.AddSingleton(sp => sp.GetRequiredService<ProntoRuntime>().GetClassifier(model));
        }
        else
        {
            Services.AddKeyedSingleton(key, (sp, _) => sp.GetRequiredService<ProntoRuntime>().GetClassifier(model));
        }

        return this;
    }
}

public static class ProntoServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ProntoRuntime"/> over the repository folder <paramref name="repositoryPath"/>
    /// (opened on first use, disposed with the container); add models to it through the returned builder.
    /// </summary>
    public static ProntoBuilder AddPronto(this IServiceCollection services, string repositoryPath, OnnxBackendOptions? onnx = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(repositoryPath);
        services.AddSingleton(_ => ProntoRuntime.Open(repositoryPath, onnx));
        return new ProntoBuilder(services);
    }
}
