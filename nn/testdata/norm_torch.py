# Generates the reference values in nn/norm_torch_test.go: LayerNorm and
# BatchNorm with their default eps (1e-5) on inputs whose variance (about
# 1e-4) is small enough that eps changes the output in the third digit, so
# a wrong eps or a wrong placement of it fails the Go tests.
#
#   python3 nn/testdata/norm_torch.py > /tmp/norm.txt   (torch 1.13)
import torch

torch.set_printoptions(precision=10)


def lit(t):
    return "[]float32{" + ", ".join("%.9g" % v for v in t.detach().flatten().tolist()) + "}"


# Inputs: 1 + 0.01·k for small integers k, exactly as the Go test builds them.
def small(shape, ks):
    return (1 + 0.01 * torch.tensor(ks, dtype=torch.float64)).reshape(shape).float()


x_ln = small((2, 4), [0, 1, 3, -1, 2, 2, -2, 0])
ln = torch.nn.LayerNorm(4)
with torch.no_grad():
    ln.weight.copy_(torch.tensor([1.0, 2.0, 0.5, -1.0]))
    ln.bias.copy_(torch.tensor([0.0, 0.1, 0.0, -0.2]))
print("layerNormY =", lit(ln(x_ln)))

x_bn = small((4, 2), [0, 1, 1, -1, -1, 1, 2, 0])
bn = torch.nn.BatchNorm1d(2)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([2.0, 0.5]))
    bn.bias.copy_(torch.tensor([0.0, 1.0]))
bn.train()
y = bn(x_bn)
print("batchNormTrainY =", lit(y))
print("batchNormRunningMean =", lit(bn.running_mean))
print("batchNormRunningVar =", lit(bn.running_var))
# Evaluation against running statistics with a small variance.
with torch.no_grad():
    bn.running_mean.copy_(torch.tensor([1.0, 1.01]))
    bn.running_var.copy_(torch.tensor([1e-4, 4e-5]))
bn.eval()
print("batchNormEvalY =", lit(bn(x_bn)))

x_bn2 = small((2, 2, 2, 1), [0, 1, 3, 3, 2, -2, 1, 2])
bn2 = torch.nn.BatchNorm2d(2)
bn2.train()
print("batchNorm2DTrainY =", lit(bn2(x_bn2)))
print("batchNorm2DRunningVar =", lit(bn2.running_var))
