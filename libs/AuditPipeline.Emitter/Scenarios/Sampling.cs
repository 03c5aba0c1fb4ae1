namespace AuditPipeline.Emitter.Scenarios;

/// <summary>The random draws the scenario generator makes (same sequence of <see cref="Random"/> calls, so a seed gives the same scenario).</summary>
internal static class Sampling
{
    /// <summary>A rank in [0, n) with Zipf weights (the cumulative weights from <see cref="ZipfCdf"/>).</summary>
    public static int Zipf(this Random random, double[] cdf, int n)
    {
        var u = random.NextDouble() * cdf[Math.Min(n, cdf.Length) - 1];
        var i = Array.BinarySearch(cdf, 0, Math.Min(n, cdf.Length), u);
        return Math.Min(i < 0 ? ~i : i, n - 1);
    }

    public static double[] ZipfCdf(int n, double s)
    {
        var cdf = new double[n];
        double sum = 0;
        for (var k = 0; k < n; k++)
        {
            sum += 1 / Math.Pow(k + 1, s);
            cdf[k] = sum;
        }
        return cdf;
    }

    public static int Poisson(this Random random, double lambda)
    {
        if (lambda <= 0)
        {
            return 0;
        }
        if (lambda > 30)
        {
            // Normal approximation: fine for the large rates of bursts and loops.
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            var z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return Math.Max(0, (int)Math.Round(lambda + (Math.Sqrt(lambda) * z)));
        }
        var limit = Math.Exp(-lambda);
        var k = 0;
        var p = random.NextDouble();
        while (p > limit)
        {
            k++;
            p *= random.NextDouble();
        }
        return k;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (shape ≥ 1 here).</summary>
    public static double Gamma(this Random random, double shape)
    {
        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                var u1 = 1 - random.NextDouble();
                var u2 = random.NextDouble();
                x = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                v = 1 + (c * x);
            }
            while (v <= 0);
            v = v * v * v;
            var u = random.NextDouble();
            if (Math.Log(u) < (0.5 * x * x) + d - (d * v) + (d * Math.Log(v)))
            {
                return d * v;
            }
        }
    }
}
