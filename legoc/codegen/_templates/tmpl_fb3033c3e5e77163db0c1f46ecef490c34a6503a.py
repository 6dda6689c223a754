from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'class.py.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_cls = resolve('cls')
    pass
    yield str(environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'header'))
    yield '\n'
    yield str(environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'docstring'))
    yield '\n\n'
    yield str(environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'init_def'))
    yield '\n'
    for l_1_line in environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'init_lines'):
        _loop_vars = {}
        pass
        yield str(l_1_line)
        yield '\n'
    l_1_line = missing
    if environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'forward_def'):
        pass
        yield '\n'
        yield str(environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'forward_def'))
        yield '\n'
        for l_1_line in environment.getattr((undefined(name='cls') if l_0_cls is missing else l_0_cls), 'forward_lines'):
            _loop_vars = {}
            pass
            yield str(l_1_line)
            yield '\n'
        l_1_line = missing

blocks = {}
debug_info = '1=12&2=14&4=16&5=18&6=21&8=24&10=27&11=29&12=32'