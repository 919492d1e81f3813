using Pronto.Testing;

namespace Pronto.Server.Tests.Jobs;

/// <summary>The jobs tests' repository: adder, y = x + 1 over FP32 [batch, 1] (so pronto_predict('adder', x) is x + 1).</summary>
internal static class AdderRepository
{
    /// <summary>Writes it under <paramref name="work"/>/models and returns that folder.</summary>
    public static string Write(string work)
    {
        var repository = Path.Combine(work, "models");
        TinyModels.WriteAddConstant(repository, "adder", 1f, 1);
        File.WriteAllText(Path.Combine(repository, "adder", "config.pbtxt"), """
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """);
        return repository;
    }
}
