import ff_neuro as ffn
from ff_neuro.config import FFTrainConfig
from ff_neuro.data import load_dataset
from ff_neuro.energy import measure_activity
from ff_neuro.run import get_backend, infer
from ff_neuro.training.ff import train_ff

ds = load_dataset("digits")                                  # scikit-learn's 8x8 digits
net = train_ff(ds, FFTrainConfig(epochs=10), progress=False)  # spiking Forward-Forward
qnet, report = ffn.quantize(net)                             # Loihi fixed point
result = infer(get_backend("emulator"), qnet, ds.x_test, keep_counts=True)
print(f"accuracy on the bit-exact emulator: {result.accuracy(ds.y_test):.3f}")
energy = measure_activity(qnet, result).report("loihi2")     # from the measured spikes
print(energy.format_table())
ffn.save_model(qnet, "digits.h5")    # then: ff-neuro evaluate digits.h5 --backend lava-fixed
