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
//   Pronto.ModelGen finetune-data FOLDER [TEXTS=2000] [IMAGES=1000]
//                    the fine-tuning benchmark's data: FOLDER/tickets.csv (text,label; generated support tickets, 4
//                    topics) and FOLDER/digits/ (scikit-learn's handwritten digits as 32 x 32 PNGs, ImageFolder layout)
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

    case ["finetune-data", var folder, .. var rest]:
        {
            var texts = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 2000;
            var images = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 1000;
            Directory.CreateDirectory(folder);
            var csv = Path.Combine(folder, "tickets.csv");
            File.WriteAllLines(csv, ["text,label", .. LabeledTexts.Generate(texts).Select(r => $"{r.Text},{r.Label}")]);
            var digits = SklearnDigits.WriteImageFolder(Path.Combine(folder, "digits"), images);
            Console.WriteLine($"{csv}: {texts} texts; {digits}: {images} images");
            return 0;
        }

    case [var repository, var name, .. var rest] when repository is not ("body" or "identity" or "finetune-data"):
        {
            var layers = (rest.Length > 0 ? rest[0] : "256,2048,2048,2").Split(',').Select(int.Parse).ToArray();
            var path = TinyModels.WriteMlp(repository, name, layers);
            Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F1} MB");
            return 0;
        }

    default:
        Console.Error.WriteLine("usage: Pronto.ModelGen REPOSITORY NAME [256,2048,2048,2] | identity REPOSITORY [NAME] [WIDTH] | body resnet18|identity FOLDER | finetune-data FOLDER [TEXTS] [IMAGES]");
        return 2;
}
