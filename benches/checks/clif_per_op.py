"""CLIF instructions, blocks and machine-code bytes one more instruction of
each usual shape costs in a compiled unit (docs/PERFORMANCE.md, "Direct
entries on heat, shared side exits"): python3 clif_per_op.py BIN"""
import sys,subprocess,re,os,tempfile
BIN=sys.argv[1]
os.chdir(tempfile.mkdtemp())
# each op snippet: (setup, body) ; body is repeated k times inside a loop
ops={
 'INDEX list': ("MAKE_LIST 0\nPUSH_INT 1\nAPPEND\nPUSH_INT 2\nAPPEND\nSTORE l\n", "LOAD l\nLOAD i\nPUSH_INT 2\nMOD\nINDEX\nSTORE x\n"),
 'ADD int': ("PUSH_INT 3\nSTORE a\n", "LOAD a\nLOAD i\nADD\nSTORE x\n"),
 'ADD unknown': ("PUSH_INT 3\nSTORE a\n", "LOAD x\nLOAD i\nADD\nSTORE x\n"),
 'ADD list elems': ("MAKE_LIST 0\nPUSH_INT 1\nAPPEND\nPUSH_INT 2\nAPPEND\nSTORE l\nLOAD l\nPUSH_INT 0\nINDEX\nSTORE a\nLOAD l\nPUSH_INT 1\nINDEX\nSTORE b\n", "LOAD a\nLOAD b\nADD\nSTORE x\n"),
 'LT elems': ("MAKE_LIST 0\nPUSH_INT 1\nAPPEND\nPUSH_INT 2\nAPPEND\nSTORE l\nLOAD l\nPUSH_INT 0\nINDEX\nSTORE a\nLOAD l\nPUSH_INT 1\nINDEX\nSTORE b\n", "LOAD a\nLOAD b\nLT\nSTORE x\n"),
 'STORE heap (drop)': ("MAKE_LIST 0\nSTORE l\n", "LOAD l\nSTORE m\n"),
 'LT': ("", "LOAD x\nLOAD i\nLT\nSTORE y\n"),
 'EQ': ("", "LOAD x\nLOAD i\nEQ\nSTORE y\n"),
 'MUL float': ("PUSH_FLOAT 1.5\nSTORE f\n", "LOAD f\nLOAD f\nMUL\nSTORE g\n"),
 'LEN': ("MAKE_LIST 0\nSTORE l\n", "LOAD l\nLEN\nSTORE x\n"),
 'GET_FIELD': ("MAKE_OBJECT\nPUSH_INT 1\nSET_FIELD a\nSTORE o\n", "LOAD o\nGET_FIELD a\nSTORE x\n"),
 'APPEND': ("MAKE_LIST 0\nSTORE l\n", "LOAD l\nLOAD i\nAPPEND\nSTORE l\n"),
 'SET_INDEX': ("MAKE_LIST 0\nPUSH_INT 1\nAPPEND\nSTORE l\n", "LOAD l\nPUSH_INT 0\nLOAD i\nSET_INDEX\nSTORE l\n"),
 'CONCAT str': ("PUSH_STR \"a\"\nSTORE s\n", "LOAD s\nPUSH_STR \"b\"\nCONCAT\nSTORE t\n"),
 'CALL': ("", "LOAD i\nCALL f a\nSTORE x\n"),
 'JZ (if)': ("", "LOAD i\nJZ L{k}\nLOAD i\nSTORE x\nLABEL L{k}\n"),
 'PRINT-free DUP/POP': ("", "LOAD i\nDUP\nPOP\nSTORE x\n"),
}
def prog(setup,body,k):
    b="".join(body.replace("{k}",str(j)) for j in range(k))
    return f"""PUSH_INT 0
STORE i
PUSH_INT 0
STORE x
{setup}LABEL loop
LOAD i
PUSH_INT 50
GE
JNZ out
{b}LOAD i
PUSH_INT 1
ADD
STORE i
JMP loop
LABEL out
HALT
LABEL f
LOAD a
RET
"""
def measure(src):
    open('p.ttvm','w').write(src)
    r=subprocess.run([BIN,'--jit','--jit-threshold','0','-S','1','--jit-dump','p.ttvm'],capture_output=True,text=True)
    err=r.stderr
    if r.returncode!=0: return None
    # first function is main unit
    funcs=err.split('\nfunction ')
    # count clif instructions in first function and machine bytes
    m=re.findall(r'; machine code \((\d+) bytes\)',err)
    body=funcs[1] if len(funcs)>1 else err
    body=body.split('\n}')[0]
    n=0;blocks=0
    for l in body.split('\n')[1:]:
        s=l.strip()
        if not s or s.startswith(('ss','sig','fn','gv')): continue
        if re.match(r'^block\d+',s): blocks+=1; continue
        if '->' in s and '=' not in s: continue
        n+=1
    return n,blocks,int(m[0]) if m else 0
K=11
print(f"{'op':22} {'clif/op':>8} {'blocks/op':>9} {'bytes/op':>9}")
for name,(setup,body) in ops.items():
    a=measure(prog(setup,body,1)); b=measure(prog(setup,body,K))
    if not a or not b: print(name,'failed'); continue
    d=[(y-x)/(K-1) for x,y in zip(a,b)]
    print(f"{name:22} {d[0]:8.1f} {d[1]:9.1f} {d[2]:9.1f}")
