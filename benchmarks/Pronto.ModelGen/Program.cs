using Pronto.Testing;

// Pronto.ModelGen REPOSITORY NAME [layers=256,2048,2048,2]: a ReLU MLP with deterministic weights.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Pronto.ModelGen REPOSITORY NAME [256,2048,2048,2]");
    return 2;
}

var layers = (args.Length > 2 ? args[2] : "256,2048,2048,2").Split(',').Select(int.Parse).ToArray();
var path = TinyModels.WriteMlp(args[0], args[1], layers);
Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F1} MB");
return 0;
