using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Onnx;
using Pronto.Remote;

namespace Pronto;

/// <summary>
/// Registers the models an application uses from the <see cref="IProntoModels"/> that
/// <see cref="ProntoServiceCollectionExtensions.AddPronto"/> (in-process) or
/// <see cref="ProntoServiceCollectionExtensions.AddProntoClient"/> (a server) added.
/// </summary>
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
            Services.AddSingleton(sp => sp.GetRequiredService<IProntoModels>().GetEmbeddingGenerator(model));
        }
        else
        {
            Services.AddKeyedSingleton(key, (sp, _) => sp.GetRequiredService<IProntoModels>().GetEmbeddingGenerator(model));
        }

        return this;
    }

    /// <summary><see cref="IChatClient"/> over a generative model; keyed by <paramref name="key"/> when given.</summary>
    public ProntoBuilder AddChatClient(string model, object? key = null)
    {
        if (key is null)
        {
            Services.AddSingleton(sp => sp.GetRequiredService<IProntoModels>().GetChatClient(model));
        }
        else
        {
            Services.AddKeyedSingleton(key, (sp, _) => sp.GetRequiredService<IProntoModels>().GetChatClient(model));
        }

        return this;
    }

    /// <summary>A <see cref="ProntoClassifier"/> over a classification model; keyed by <paramref name="key"/> when given.</summary>
    public ProntoBuilder AddClassifier(string model, object? key = null)
    {
        if (key is null)
        {
            Services.AddSingleton(sp => sp.GetRequiredService<IProntoModels>().GetClassifier(model));
        }
        else
        {
            Services.AddKeyedSingleton(key, (sp, _) => sp.GetRequiredService<IProntoModels>().GetClassifier(model));
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
        services.AddSingleton<IProntoModels>(sp => sp.GetRequiredService<ProntoRuntime>());
        return new ProntoBuilder(services);
    }

    /// <summary>
    /// Registers a singleton <see cref="ProntoClient"/> of the server at <paramref name="http"/> (and
    /// <paramref name="grpc"/>, by default port 8001 of the same host): the same models through the same builder,
    /// answered by the server.
    /// </summary>
    public static ProntoBuilder AddProntoClient(this IServiceCollection services, Uri http, Uri? grpc = null, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(http);
        services.AddSingleton(_ => ProntoClient.Connect(http, grpc, apiKey));
        services.AddSingleton<IProntoModels>(sp => sp.GetRequiredService<ProntoClient>());
        return new ProntoBuilder(services);
    }
}
