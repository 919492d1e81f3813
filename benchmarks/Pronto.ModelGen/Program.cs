using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Tensors;
using Pronto.ModelGen;
using Pronto.Testing;

// The benchmarks' generated models and request bodies:
//   Pronto.ModelGen REPOSITORY NAME [layers=256,2048,2048,2]   a ReLU MLP with deterministic weights
//   Pronto.ModelGen identity REPOSITORY [NAME=identity] [WIDTH=16]
//                    y = x over FP32 [batch, WIDTH] with its config.pbtxt: no compute, so through the server it
//                    measures the server's own cost per request
//   Pronto.ModelGen body resnet18|identity FOLDER   FOLDER/M.json, FOLDER/M.bin and FOLDER/M.bin.json-length
// The peak-FLOPs model of Pronto.RawBench is an MLP of wide layers: REPOSITORY matmul 2048,2048,2048,2048.
switch (args)
{
    case ["body", var model, var folder] when RequestBodies.Models.ContainsKey(model):
        RequestBodies.Write(folder, model);
        Console.WriteLine($"{Path.Combine(folder, model)}.json, .bin, .bin.json-length");
        return 0;
    case ["identity", var repository, .. var rest]:
        {
            var name = rest.Length > 0 ? rest[0] : "identity";
            var width = rest.Length > 1 ? long.Parse(rest[1], CultureInfo.InvariantCulture) : 16;
            var path = TinyModels.WriteIdentity(repository, name, DataType.FP32, ["batch", width]);
            var config = new ModelConfig
            {
                Name = name,
                MaxBatchSize = 64,
                Inputs = [new TensorConfig { Name = "x", DataType = DataType.FP32, Dims = [width] }],
                Outputs = [new TensorConfig { Name = "y", DataType = DataType.FP32, Dims = [width] }],
            };
            File.WriteAllText(Path.Combine(repository, name, "config.pbtxt"), ModelConfigText.Format(config));
            Console.WriteLine(path);
            return 0;
        }

    case [var repository, var name, .. var rest] when repository is not ("body" or "identity"):
        {
            var layers = (rest.Length > 0 ? rest[0] : "256,2048,2048,2").Split(',').Select(int.Parse).ToArray();
            var path = TinyModels.WriteMlp(repository, name, layers);
            Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F1} MB");
            return 0;
        }

    default:
        Console.Error.WriteLine("usage: Pronto.ModelGen REPOSITORY NAME [256,2048,2048,2] | identity REPOSITORY [NAME] [WIDTH] | body resnet18|identity FOLDER");
        return 2;
}
