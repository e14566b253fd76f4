import time, torch, sys
from sentence_transformers import SentenceTransformer
t0=time.time()
st=SentenceTransformer('work/model', device='cpu')
print(st); print('max_seq_length', st.max_seq_length)
hf=st[0].model.eval()
class Wrap(torch.nn.Module):
    def __init__(s,m): super().__init__(); s.m=m
    def forward(s, input_ids, attention_mask):
        h=s.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mk=attention_mask.unsqueeze(-1).to(h.dtype)
        e=(h*mk).sum(1)/mk.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(e, p=2, dim=1)
w=Wrap(hf).eval()
tok=st.tokenizer(["passage: привет мир", "passage: ещё один более длинный текст для проверки"], padding=True, return_tensors='pt')
t1=time.time()
with torch.no_grad():
    torch.onnx.export(w, (tok['input_ids'], tok['attention_mask']), 'work/e5.onnx', dynamo=False,
        input_names=['input_ids','attention_mask'], output_names=['sentence_embedding'],
        dynamic_axes={'input_ids':{0:'b',1:'s'},'attention_mask':{0:'b',1:'s'},'sentence_embedding':{0:'b'}}, opset_version=17)
print('export s', time.time()-t1, 'total incl load', time.time()-t0)
