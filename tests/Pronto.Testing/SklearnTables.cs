using System.Globalization;
using System.Text;

namespace Pronto.Testing;

/// <summary>
/// Real tables no one in the project wrote: scikit-learn's bundled datasets from Debian's python3-sklearn
/// (installed by scripts/test-prerequisites), rewritten as plain CSV files with a header row.
/// </summary>
public static class SklearnTables
{
    public const string DataFolder = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

    /// <summary>Iris (150 rows, 4 features, 3 classes: setosa, versicolor, virginica) with a <c>species</c> column.</summary>
    public static string Iris(string folder) =>
        WriteClassification(folder, "iris.csv", ["sepal_length", "sepal_width", "petal_length", "petal_width"], "species");

    /// <summary>Wisconsin breast cancer (569 rows, 30 features, 2 classes: malignant, benign) with a <c>diagnosis</c> column.</summary>
    public static string BreastCancer(string folder) =>
        WriteClassification(folder, "breast_cancer.csv", [.. Enumerable.Range(0, 30).Select(i => $"f{i}")], "diagnosis");

    /// <summary>Boston house prices (506 rows, 13 features, the median value MEDV as the regression target).</summary>
    public static string BostonHousing(string folder)
    {
        var lines = File.ReadAllLines(Path.Combine(DataFolder, "boston_house_prices.csv"));
        var path = Path.Combine(folder, "boston.csv");
        File.WriteAllLines(path, lines.Skip(1).Select((l, i) => i == 0 ? l.Replace("\"", "", StringComparison.Ordinal) : l));
        return path;
    }

    /// <summary>The sklearn layout: "n,features,class names..." then rows of features and a class index.</summary>
    private static string WriteClassification(string folder, string file, string[] features, string labelColumn)
    {
        var lines = File.ReadAllLines(Path.Combine(DataFolder, file));
        var classes = lines[0].Split(',')[2..];
        var csv = new StringBuilder();
        csv.AppendJoin(',', features).Append(',').Append(labelColumn).Append('\n');
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var cells = line.Split(',');
            csv.AppendJoin(',', cells[..^1]).Append(',').Append(classes[int.Parse(cells[^1], CultureInfo.InvariantCulture)]).Append('\n');
        }

        var path = Path.Combine(folder, Path.GetFileNameWithoutExtension(file) + "-labeled.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }
}
